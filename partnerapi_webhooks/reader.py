"""The read side of the landing area: the interface a tap stream (or a loader) consumes.

Keys are ``environment=E/date=YYYY-MM-DD/hour=HH/<YYYYMMDDTHHMMSSffffffZ>-<id>.json``; within
one environment, key order is ``received_at`` order. Writers rename into place, so a file is
either absent or complete; names starting with ``.tmp-`` are writes in progress. A request
that started earlier can rename later than one that started after it, so an incremental reader
re-reads a lookback window behind its bookmark and relies on the (environment,
notification_id) key downstream to collapse what it reads twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from partnerapi_webhooks.landing import TEMP_PREFIX
from partnerapi_webhooks.notification import key_floor


def list_keys(
    root: str | os.PathLike[str],
    environment: str,
    *,
    since: datetime | None = None,
    lookback: timedelta = timedelta(minutes=10),
) -> list[str]:
    """Keys received at or after ``since - lookback`` (all when ``since`` is None), in order."""
    base = Path(root) / f"environment={environment}"
    if not base.is_dir():
        return []
    floor = (since - lookback).astimezone(UTC) if since is not None else None
    floor_date = f"date={floor:%Y-%m-%d}" if floor else ""
    floor_hour = f"hour={floor:%H}" if floor else ""
    first_key = key_floor(environment, floor) if floor else ""
    keys: list[str] = []
    for date_dir in sorted(p for p in base.iterdir() if p.name >= floor_date):
        # Same result, but a frequent poller (partnerapi_webhooks.trigger) does not list every
        # file of the floor's day: every name in an earlier hour is below the floor.
        for hour_dir in sorted(
            h for h in date_dir.iterdir() if date_dir.name > floor_date or h.name >= floor_hour
        ):
            for path in hour_dir.iterdir():
                name = path.name
                if name.startswith(TEMP_PREFIX) or not name.endswith(".json"):
                    continue
                key = path.relative_to(root).as_posix()
                if key >= first_key:
                    keys.append(key)
    return sorted(keys)


def exists(root: str | os.PathLike[str]) -> bool:
    return Path(root).is_dir()


def read_text(root: str | os.PathLike[str], key: str) -> str:
    """The document at ``key`` as text; ``FileNotFoundError`` if it vanished since listing."""
    return (Path(root) / key).read_text(encoding="utf-8")


def read(root: str | os.PathLike[str], key: str) -> dict[str, Any]:
    return json.loads(read_text(root, key))


def iter_documents(
    root: str | os.PathLike[str], environment: str, **kwargs: Any
) -> Iterator[dict[str, Any]]:
    for key in list_keys(root, environment, **kwargs):
        try:
            yield read(root, key)
        except FileNotFoundError:
            # A crashed delivery's orphan removed by its retry between listing and reading.
            continue


class FolderReader:
    """The folder functions above behind the interface :class:`S3Reader` shares."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def exists(self) -> bool:
        return exists(self.root)

    def list_keys(self, environment: str, **kwargs: Any) -> list[str]:
        return list_keys(self.root, environment, **kwargs)

    def read_text(self, key: str) -> str:
        return read_text(self.root, key)


def open_reader(uri: str) -> Any:
    """A reader of ``uri``: ``s3://bucket/prefix`` (needs boto3) or a local folder."""
    if uri.startswith("s3://"):
        from partnerapi_webhooks.s3reader import S3Reader

        return S3Reader(uri)
    return FolderReader(uri)
