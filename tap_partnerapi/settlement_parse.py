"""Settlement part files and manifests, checked and parsed (CONTRACT "Batch exports").

Every check raises :class:`BadDrop` with a reason that names the file; the stream then
quarantines the drop instead of loading any of it. Parsers are the formats' own: the csv
module (RFC 4180 quoting, header row), json, and pyarrow for Parquet.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import typing as t

from tap_partnerapi.clock import format_ts, normalize_ts

FORMATS = ("csv", "json", "ndjson", "parquet")
LINE_FIELDS = ("line_id", "payout_id", "transaction_id", "payment_id", "type", "gross", "fee",
               "net", "currency", "settled_at", "description")
INTEGER_FIELDS = ("gross", "fee", "net")
NULLABLE_FIELDS = ("payment_id", "description")


class BadDrop(ValueError):
    """A manifest or part file that must not be loaded; ``key`` names the object."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key, self.reason = key, reason


def parse_manifest(key: str, data: bytes, *, environment: str, payout_id: str,
                   seq: int) -> dict[str, t.Any]:
    """The manifest at ``key``, checked against its place in the layout."""
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise BadDrop(key, f"manifest is not JSON ({exc})") from exc
    if not isinstance(manifest, dict):
        raise BadDrop(key, "manifest is not a JSON object")
    missing = [f for f in ("manifest_id", "payout_id", "seq", "environment", "format",
                           "settled_date", "line_count", "files") if f not in manifest]
    if missing:
        raise BadDrop(key, f"manifest lacks {', '.join(missing)}")
    expected = {"payout_id": payout_id, "seq": seq, "environment": environment}
    for name, value in expected.items():
        if manifest[name] != value:
            raise BadDrop(key, f"manifest {name} {manifest[name]!r} under the path of "
                               f"{value!r}")
    if manifest["format"] not in FORMATS:
        raise BadDrop(key, f"unknown format {manifest['format']!r}")
    files = manifest["files"]
    if not isinstance(files, list) or not all(
            isinstance(f, dict) and {"key", "rows", "bytes", "sha256"} <= f.keys()
            for f in files):
        raise BadDrop(key, "manifest files must be objects with key, rows, bytes, sha256")
    if sum(int(f["rows"]) for f in files) != manifest["line_count"]:
        raise BadDrop(key, f"line_count {manifest['line_count']} is not the sum of its "
                           "files' rows")
    return manifest


def check_bytes(key: str, data: bytes, entry: dict[str, t.Any]) -> str:
    """Size and sha256 as the manifest says (a truncated upload fails here); the digest."""
    if len(data) != int(entry["bytes"]):
        raise BadDrop(key, f"{len(data)} bytes, manifest says {entry['bytes']}")
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise BadDrop(key, f"sha256 {digest} differs from the manifest's {entry['sha256']}")
    return digest


def parse_lines(key: str, data: bytes, fmt: str, *, payout_id: str,
                rows: int) -> list[dict[str, t.Any]]:
    """Typed lines of one part file; raises :class:`BadDrop` on anything unexpected."""
    try:
        raw = _READERS[fmt](data)
    except BadDrop:
        raise
    except Exception as exc:  # each parser's own error types
        raise BadDrop(key, f"unreadable {fmt} ({type(exc).__name__}: {exc})") from exc
    if len(raw) != rows:
        raise BadDrop(key, f"{len(raw)} rows, manifest says {rows}")
    return [_typed(key, n, line, payout_id, text=fmt == "csv")
            for n, line in enumerate(raw, start=1)]


def _csv(data: bytes) -> list[dict[str, t.Any]]:
    reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""), strict=True)
    return list(reader)


def _json(data: bytes) -> list[dict[str, t.Any]]:
    doc = json.loads(data)
    if not isinstance(doc, list):
        raise ValueError("not a JSON array")
    return doc


def _ndjson(data: bytes) -> list[dict[str, t.Any]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


def _parquet(data: bytes) -> list[dict[str, t.Any]]:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data)).to_pylist()


_READERS: dict[str, t.Callable[[bytes], list[dict[str, t.Any]]]] = {
    "csv": _csv, "json": _json, "ndjson": _ndjson, "parquet": _parquet}


def _typed(key: str, n: int, line: t.Any, payout_id: str, *, text: bool) -> dict[str, t.Any]:
    if not isinstance(line, dict):
        raise BadDrop(key, f"row {n} is not an object")
    missing = [f for f in LINE_FIELDS if f not in line]
    if missing:
        raise BadDrop(key, f"row {n} lacks {', '.join(missing)}")
    out: dict[str, t.Any] = {}
    for name in LINE_FIELDS:
        value = line[name]
        if text and value == "":
            value = None  # CSV: null is an empty field
        if value is None:
            if name not in NULLABLE_FIELDS:
                raise BadDrop(key, f"row {n}: {name} is null")
        elif name in INTEGER_FIELDS:
            value = _integer(key, n, name, value, text=text)
        elif name == "settled_at":
            value = _timestamp(key, n, value)
        elif not isinstance(value, str):
            raise BadDrop(key, f"row {n}: {name} is {type(value).__name__}, not text")
        out[name] = value
    if out["payout_id"] != payout_id:
        raise BadDrop(key, f"row {n}: payout_id {out['payout_id']!r} in a drop of {payout_id}")
    if out["net"] != out["gross"] - out["fee"]:
        raise BadDrop(key, f"row {n}: net {out['net']} is not gross - fee")
    return out


def _integer(key: str, n: int, name: str, value: t.Any, *, text: bool) -> int:
    if text and isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise BadDrop(key, f"row {n}: {name} {value!r} is not an integer")


def _timestamp(key: str, n: int, value: t.Any) -> str:
    try:
        if isinstance(value, dt.datetime):  # a Parquet timestamp column
            return format_ts(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
        return normalize_ts(str(value))
    except ValueError as exc:
        raise BadDrop(key, f"row {n}: settled_at {value!r} is not a timestamp") from exc
