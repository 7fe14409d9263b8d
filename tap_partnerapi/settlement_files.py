"""Where the vendor's settlement drops live: a folder or ``s3://bucket/prefix``.

Both stores list keys under ``<prefix>/<environment>/settlements/`` in key order from a floor
(``dt=<date>`` sorts by date, so S3's ``StartAfter`` skips older partitions server-side) and
read one object whole, with what identifies the exact bytes read (S3 version id and ETag).
S3 credentials and endpoint come from the standard AWS chain (``AWS_*``, instance role,
``AWS_ENDPOINT_URL``), never from the tap's settings.
"""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass
from pathlib import Path

from partnerapi_webhooks.s3reader import s3_client, split_uri


@dataclass(frozen=True)
class StoredObject:
    key: str  # as the manifest names it: full key in the bucket, or path under the folder
    data: bytes
    version_id: str | None
    etag: str | None


class FolderStore:
    bucket: str | None = None

    def __init__(self, root: str) -> None:
        self.root = Path(root)
        self.uri = str(root)

    def exists(self) -> bool:
        return self.root.is_dir()

    def key(self, relative: str) -> str:
        return relative

    def list_keys(self, under: str, start_after: str | None = None) -> list[str]:
        base = self.root / under
        if not base.is_dir():
            return []
        keys = []
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                if name.startswith("."):  # a writer's temporary file
                    continue
                key = Path(dirpath, name).relative_to(self.root).as_posix()
                if start_after is None or key > start_after:
                    keys.append(key)
        return sorted(keys)

    def read(self, key: str) -> StoredObject:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise FileNotFoundError(f"{key}: outside {self.root}")
        return StoredObject(key, path.read_bytes(), None, None)


class S3Store:
    def __init__(self, uri: str, client: t.Any | None = None) -> None:
        try:
            self.bucket, self.prefix = split_uri(uri)
        except ValueError as exc:
            raise ValueError(f"settlements_location: {exc}") from exc
        self.uri = uri
        self.client = client or s3_client(uri, "settlement files")

    def exists(self) -> bool:
        """True when the bucket answers; a wrong bucket or missing permission raises."""
        self.client.head_bucket(Bucket=self.bucket)
        return True

    def key(self, relative: str) -> str:
        return self.prefix + relative

    def list_keys(self, under: str, start_after: str | None = None) -> list[str]:
        request: dict[str, t.Any] = {"Bucket": self.bucket, "Prefix": self.prefix + under}
        if start_after is not None:
            request["StartAfter"] = self.prefix + start_after
        keys = []
        for page in self.client.get_paginator("list_objects_v2").paginate(**request):
            keys += [item["Key"][len(self.prefix):] for item in page.get("Contents", ())]
        return sorted(keys)

    def read(self, key: str) -> StoredObject:
        """``key`` is the full key in the bucket (as manifests give it)."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:  # botocore's NoSuchKey is generated per client
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404"):
                raise FileNotFoundError(f"s3://{self.bucket}/{key}") from exc
            raise
        version = response.get("VersionId")
        return StoredObject(key, response["Body"].read(),
                            None if version in (None, "null") else version,
                            (response.get("ETag") or "").strip('"') or None)


def open_store(location: str) -> FolderStore | S3Store:
    return S3Store(location) if location.startswith("s3://") else FolderStore(location)
