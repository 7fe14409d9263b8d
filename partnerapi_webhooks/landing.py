"""Landing areas: where accepted notifications are written, atomically, one object per key."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any, Protocol

TEMP_PREFIX = ".tmp-"


class Landing(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Write ``data`` at ``key`` atomically and durably; overwriting is allowed."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""

    def check(self) -> None:
        """Raise if the area is not writable (health endpoint)."""

    def describe(self) -> str: ...


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalLanding:
    """A folder. Readers must ignore names starting with ``.tmp-`` (writes in progress)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"key escapes the landing root: {key!r}")
        return path

    def _make_dirs(self, directory: Path) -> None:
        missing: list[Path] = []
        current = directory
        while not current.exists():
            missing.append(current)
            current = current.parent
        directory.mkdir(parents=True, exist_ok=True)
        # A new directory entry is durable only once its parent is fsynced.
        for created in reversed(missing):
            _fsync_dir(created.parent)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        self._make_dirs(path.parent)
        temp = path.parent / f"{TEMP_PREFIX}{path.name}.{uuid.uuid4().hex}"
        try:
            with open(temp, "xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        # The rename is durable only once the directory is fsynced: do it before we answer 2xx.
        _fsync_dir(path.parent)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            _fsync_dir(path.parent)

    def check(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise OSError(f"landing folder {self.root} is not writable")

    def describe(self) -> str:
        return str(self.root)


class S3Landing:
    """An S3 prefix. A PutObject is atomic and read-after-write consistent, so no temp object.

    Needs ``boto3`` (not a project dependency: install it where this runs); credentials come
    from the standard AWS chain (instance role, env), never from our settings.
    """

    def __init__(self, bucket: str, prefix: str, client: Any | None = None) -> None:
        if client is None:
            import boto3  # type: ignore[import-not-found]  # optional, production only

            client = boto3.client("s3")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self.prefix + key, Body=data, ContentType="application/json"
        )

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except Exception as exc:  # botocore ClientError; 404 means absent
            status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404:
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def landing_from_uri(uri: str) -> Landing:
    """``s3://bucket/prefix`` or a local folder path."""
    if uri.startswith("s3://"):
        bucket, _, prefix = uri[len("s3://") :].partition("/")
        return S3Landing(bucket, prefix)
    return LocalLanding(uri)
