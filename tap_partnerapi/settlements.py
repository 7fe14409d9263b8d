"""``settlements``: the vendor's settlement drops (files, not API pages), one record per line.

A drop is ``<env>/settlements/dt=<settled_date>/<payout_id>/<seq>/`` with part files and a
``manifest.json`` written last. Each run lists the ``dt=`` partitions from a floor on (the
newest settled_date read minus ``settlements_lookback_hours``: drops arrive up to 72 h after
their settled_date), and reads every drop whose manifest is there and whose seq is above the
bookmark of its payout. The bookmark is the drop sequence per payout, kept in the stream's
state; file times play no part.

A drop is read whole before any line is emitted: every file's size, sha256 and row count are
checked against the manifest and every line is typed. One bad file and nothing of the drop is
emitted; each bad file goes to ``quarantine`` with its reason, and the run exits with the
tap's quarantine status. Records are keyed (environment, payout_id, seq, line_id): a
re-delivered drop or a crashed run read again upserts the same rows, and a correction (a
higher seq) adds its own rows, which dbt prefers (``settlement_lines``: latest seq wins).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import typing as t

from singer_sdk import typing as th

from partnerapi_sdk_hooks import StreamAccess
from tap_partnerapi.settlement_files import FolderStore, S3Store, open_store
from tap_partnerapi.settlement_parse import (
    BadDrop,
    check_bytes,
    parse_lines,
    parse_manifest,
)
from tap_partnerapi.versions import version_of

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_partnerapi.services import RunServices

SETTLEMENT_KEYS = ["environment", "payout_id", "seq", "line_id"]
SETTLEMENT_SCHEMA = th.PropertiesList(
    th.Property("environment", th.StringType, required=True),
    th.Property("payout_id", th.StringType, required=True),
    th.Property("seq", th.IntegerType, required=True),
    th.Property("line_id", th.StringType, required=True),
    th.Property("manifest_id", th.StringType, required=True),
    th.Property("settled_date", th.StringType, description="the payout's date (YYYY-MM-DD)"),
    th.Property("drop_created_at", th.DateTimeType),
    th.Property("file_format", th.StringType),
    th.Property("transaction_id", th.StringType, required=True),
    th.Property("payment_id", th.StringType),
    th.Property("type", th.StringType, required=True),
    th.Property("gross", th.IntegerType, required=True),
    th.Property("fee", th.IntegerType, required=True),
    th.Property("net", th.IntegerType, required=True),
    th.Property("currency", th.StringType, required=True),
    th.Property("settled_at", th.DateTimeType, required=True),
    th.Property("description", th.StringType),
    th.Property("source_bucket", th.StringType, description="null for a folder"),
    th.Property("source_key", th.StringType, required=True),
    th.Property("source_version_id", th.StringType),
    th.Property("source_etag", th.StringType),
    th.Property("source_sha256", th.StringType, required=True),
    th.Property("source_row", th.IntegerType, required=True,
                description="1-based row of the line in its part file"),
    th.Property("manifest_key", th.StringType, required=True),
    th.Property("_pa_run_id", th.StringType),
    th.Property("_pa_extracted_at", th.DateTimeType),
).to_dict()

_MANIFEST = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})/([^/]+)/(\d+)/manifest\.json$")
_DROP_DIR = re.compile(r"^dt=\d{4}-\d{2}-\d{2}/[^/]+/\d+/")


class SettlementsStream(StreamAccess):
    """One record per settlement line of every complete, intact drop not read before."""

    name = "settlements"
    selected_by_default = False  # its own Meltano plugin selects it (docs/settlements.md)

    def __init__(self, tap: t.Any, services: RunServices) -> None:
        #: The run's shared pieces (services.py): environment, run id, stats, audit sink.
        self.services = services
        super().__init__(tap=tap, name=self.name, schema=SETTLEMENT_SCHEMA)
        self.primary_keys = SETTLEMENT_KEYS

    def get_records(self, context: t.Any) -> Iterator[dict[str, t.Any]]:
        location = self.config.get("settlements_location")
        if not location:
            self.logger.info("settlements_location is not set: no settlement files to read")
            return
        store = open_store(str(location))
        if not store.exists():
            self.logger.warning("settlements_location %s does not exist (yet): nothing to "
                                "read", location)
            return
        run = self.services
        stats = run.stats_for(self.name)
        stats.start()
        try:
            yield from self._read(store, str(location))
        except Exception:
            stats.failed = True
            raise
        finally:
            stats.finish()

    def _read(self, store: FolderStore | S3Store, location: str) -> Iterator[dict[str, t.Any]]:
        run, state = self.services, self.stream_state
        seen: dict[str, dict[str, t.Any]] = state.setdefault("drops", {})
        under = f"{run.environment}/settlements/"
        floor = self._floor(state)
        keys = store.list_keys(under, f"{under}dt={floor}" if floor else None)
        manifests, parts = [], set()
        for key in keys:
            rel = key[len(under):]
            match = _MANIFEST.match(rel)
            if match:
                manifests.append((match.group(1), match.group(2), int(match.group(3)), key))
            elif _DROP_DIR.match(rel):
                parts.add(rel.rsplit("/", 1)[0])
        waiting = parts - {m[3][len(under):].rsplit("/", 1)[0] for m in manifests}
        new = sorted((m for m in manifests if m[2] > seen.get(m[1], {}).get("seq", 0)),
                     key=lambda m: (m[0], m[1], m[2]))
        self.logger.info("settlements at %s: %d drop(s) listed from dt=%s, %d new; %d "
                         "without manifest yet (upload in progress, not read)", location,
                         len(manifests), floor or "the start", len(new), len(waiting))
        stats = run.stats_for(self.name)
        for settled_date, payout_id, seq, key in new:
            try:
                records = self._drop(store, key, payout_id, seq)
            except FileNotFoundError:
                self.logger.warning("settlements: %s vanished after listing; next run", key)
                continue
            except BadDrop as bad:
                self._quarantine(store, key, payout_id, seq, bad)
                records = []
            for record in records:
                stats.records += 1
                stats.versions_new += 1
                yield record
            # After the drop's lines: a STATE written from here on covers them.
            seen[payout_id] = {"seq": seq, "settled_date": settled_date}
            state["newest_settled_date"] = max(state.get("newest_settled_date") or "",
                                               settled_date)
            stats.pages += 1
        self._prune(state)

    def _floor(self, state: dict[str, t.Any]) -> str | None:
        """Oldest ``dt=`` partition to list: late drops land up to 72 h after their date."""
        newest = state.get("newest_settled_date")
        if newest:
            hours = float(self.config.get("settlements_lookback_hours", 96))
            days = math.ceil(hours / 24)
            return (dt.date.fromisoformat(newest) - dt.timedelta(days=days)).isoformat()
        start = self.services.start_date
        return start[:10] if start else None

    def _prune(self, state: dict[str, t.Any]) -> None:
        floor = self._floor(state)
        if floor:
            state["drops"] = {p: v for p, v in state["drops"].items()
                              if v["settled_date"] >= floor}

    def _drop(self, store: FolderStore | S3Store, manifest_key: str, payout_id: str,
              seq: int) -> list[dict[str, t.Any]]:
        """Every line of one drop, or :class:`BadDrop` - never part of it."""
        run = self.services
        manifest_obj = store.read(store.key(manifest_key))
        manifest = parse_manifest(manifest_obj.key, manifest_obj.data,
                                  environment=run.environment, payout_id=payout_id, seq=seq)
        folder = store.key(manifest_key.rsplit("/", 1)[0] + "/")
        extracted = run.server_now()
        common = {
            "environment": run.environment, "payout_id": payout_id, "seq": seq,
            "manifest_id": manifest["manifest_id"], "settled_date": manifest["settled_date"],
            "drop_created_at": manifest.get("created_at"), "file_format": manifest["format"],
            "source_bucket": store.bucket, "manifest_key": manifest_obj.key,
            "_pa_run_id": run.run_id, "_pa_extracted_at": extracted,
        }
        records: list[dict[str, t.Any]] = []
        line_ids: set[str] = set()
        for entry in manifest["files"]:
            key = str(entry["key"])
            if not key.startswith(folder):
                raise BadDrop(key, f"listed by {manifest_obj.key} but outside its drop")
            try:
                obj = store.read(key)
            except FileNotFoundError as exc:  # not the manifest: a part it lists
                raise BadDrop(key, "listed in the manifest but missing") from exc
            digest = check_bytes(key, obj.data, entry)
            lines = parse_lines(key, obj.data, manifest["format"], payout_id=payout_id,
                                rows=int(entry["rows"]))
            for row, line in enumerate(lines, start=1):
                if line["line_id"] in line_ids:
                    raise BadDrop(key, f"row {row}: line_id {line['line_id']} twice in the "
                                       "drop")
                line_ids.add(line["line_id"])
                records.append({**common, **line, "source_key": key,
                                "source_version_id": obj.version_id,
                                "source_etag": obj.etag, "source_sha256": digest,
                                "source_row": row})
        self.logger.info("settlements: %s seq %d (%s, %s): %d line(s)", payout_id, seq,
                         manifest["format"], manifest["manifest_id"], len(records))
        return records

    def _quarantine(self, store: FolderStore | S3Store, manifest_key: str, payout_id: str,
                    seq: int, bad: BadDrop) -> None:
        """The drop is not loaded; the bad object and why go to ``quarantine``."""
        run = self.services
        run.stats_for(self.name).quarantined += 1
        self.logger.error("settlements: drop %s seq %d not loaded (quarantined): %s",
                          payout_id, seq, bad)
        held = {"location": store.uri, "bucket": store.bucket, "key": bad.key,
                "manifest_key": store.key(manifest_key), "payout_id": payout_id, "seq": seq,
                "reason": bad.reason}
        run.audit("quarantine").emit({
            "environment": run.environment, "stream": self.name, "record_id": bad.key,
            "updated_at": None, "reason": f"settlement drop not loaded: {bad.reason}",
            "missing_fields": [], "unexpected_fields": [],
            "_pa_raw": held, "_pa_version": version_of(held),
            "_pa_run_id": run.run_id, "_pa_request_id": f"settlement-file:{bad.key}",
            "_pa_extracted_at": run.server_now(),
        })
