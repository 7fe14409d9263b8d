"""The landing area on S3 (``s3://bucket/prefix``), read the way the folder reader reads a
folder: keys of one environment from a floor on, in key (= received) order.

``ListObjectsV2`` returns keys in UTF-8 binary order, which for our ASCII keys is the
lexicographic order the folder reader sorts into, and ``StartAfter`` skips everything below
the floor server-side, so a run lists only the lookback window and what is new. A PutObject
is atomic: there are no temporary objects to skip, but names are filtered the same way.

Needs ``boto3`` (the ``s3`` extra); credentials and endpoint come from the standard AWS chain
(instance role, ``AWS_*`` variables, ``AWS_ENDPOINT_URL``), never from our settings.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from partnerapi_webhooks.landing import TEMP_PREFIX
from partnerapi_webhooks.notification import key_floor


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (``bucket``, ``some/prefix/``)."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise ValueError(f"not an s3://bucket/prefix URI: {uri!r}")
    prefix = prefix.strip("/")
    return bucket, prefix + "/" if prefix else ""


def s3_client(uri: str, what: str) -> Any:
    """A boto3 S3 client; boto3 is the ``s3`` extra, so its absence names the install."""
    try:
        import boto3  # type: ignore[import-not-found]
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(f"{uri}: reading {what} on S3 needs boto3 "
                           "(pip install 'tap-partnerapi[s3]')") from exc
    return boto3.client("s3")


class S3Reader:
    def __init__(self, uri: str, client: Any | None = None) -> None:
        self.uri = uri
        self.bucket, self.prefix = split_uri(uri)
        self.client = client or s3_client(uri, "an s3:// landing area")

    def exists(self) -> bool:
        """True when the bucket answers; a wrong bucket or missing permission raises."""
        self.client.head_bucket(Bucket=self.bucket)
        return True

    def list_keys(self, environment: str, *, since: datetime | None = None,
                  lookback: timedelta = timedelta(minutes=10)) -> list[str]:
        request: dict[str, Any] = {"Bucket": self.bucket,
                                   "Prefix": f"{self.prefix}environment={environment}/"}
        if since is not None:
            # Keys received before the floor sort before it: S3 skips them server-side.
            request["StartAfter"] = self.prefix + key_floor(environment, since - lookback)
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(**request):
            for item in page.get("Contents", ()):
                key = item["Key"][len(self.prefix):]
                name = key.rsplit("/", 1)[-1]
                if name.startswith(TEMP_PREFIX) or not name.endswith(".json"):
                    continue
                keys.append(key)
        return sorted(keys)

    def read_text(self, key: str) -> str:
        """The document at ``key``; ``FileNotFoundError`` if it is gone."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"]
        except Exception as exc:  # botocore's NoSuchKey is generated per client
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404"):
                raise FileNotFoundError(self.uri + key) from exc
            raise
        return body.read().decode("utf-8")
