"""What the ops tooling reads: the tap's run summaries, dbt's run results, the warehouse.

Each reader tolerates a missing source (a fresh project has none) and reports it as absent
rather than as healthy, so a check never resolves an incident it could not evaluate.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from tap_partnerapi.schema import RESOURCE_PROPERTIES

log = logging.getLogger(__name__)

RESOURCE_STREAMS = tuple(RESOURCE_PROPERTIES)  # the tap's resource streams
# Runs whose volume is not comparable with the 5-minute incremental runs (the DAGs prefix
# their run ids): they are kept out of the volume-anomaly baseline.
NON_INCREMENTAL_RUN_PREFIXES = ("backfill-", "sweep-", "reconcile-")


def to_epoch(value: Any) -> float | None:
    """Seconds since the epoch for a timestamp string/datetime; naive means UTC."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        try:
            dt = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


# -- run summaries -----------------------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    """One line of the tap's summary JSONL (design.md, "Run summary")."""

    raw: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        return self.raw.get(name)

    @property
    def key(self) -> tuple[str, str]:
        return (str(self.raw.get("environment") or ""), str(self.raw.get("stream") or ""))

    @property
    def retries(self) -> dict[str, int]:
        value = self.raw.get("retries") or {}
        return {str(k): int(v or 0) for k, v in value.items()} if isinstance(value, dict) else {}

    @property
    def requests(self) -> int:
        # The summary counts pages and retries; each retry is one more request than a page.
        if isinstance(self.raw.get("requests"), int):
            return int(self.raw["requests"])
        return int(self.raw.get("pages") or 0) + sum(self.retries.values())

    @property
    def finished_epoch(self) -> float | None:
        return to_epoch(self.raw.get("finished_at")) or to_epoch(self.raw.get("started_at"))

    @property
    def ok(self) -> bool:
        return self.raw.get("status") in ("ok", "quarantined")

    @property
    def is_incremental(self) -> bool:
        return not str(self.raw.get("run_id") or "").startswith(NON_INCREMENTAL_RUN_PREFIXES)


def read_summaries(path: Path) -> dict[tuple[str, str], list[RunSummary]]:
    """Summaries per (environment, stream), oldest first. Unparseable lines are skipped:
    a run killed mid-write leaves a partial last line."""
    runs: dict[tuple[str, str], list[RunSummary]] = defaultdict(list)
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            log.warning("%s:%d: not JSON, skipped", path, n)
            continue
        if isinstance(obj, dict) and obj.get("stream"):
            s = RunSummary(obj)
            runs[s.key].append(s)
    for series in runs.values():
        # Concurrent backfill windows append out of order: order by finish time, stably.
        series.sort(key=lambda s: s.finished_epoch or 0.0)
    return dict(runs)


# -- dbt ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DbtResults:
    generated_epoch: float | None
    tests_total: int
    failed: dict[str, list[str]]  # stream (or "other") -> failing test unique_ids


def _stream_of(name: str) -> str:
    for stream in sorted(RESOURCE_STREAMS, key=len, reverse=True):
        if stream in name:
            return stream
    return "other"


def read_dbt_results(run_results: Path, manifest: Path) -> DbtResults | None:
    try:
        results = json.loads(run_results.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    nodes: dict[str, Any] = {}
    with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
        nodes = json.loads(manifest.read_text()).get("nodes", {})
    failed: dict[str, list[str]] = defaultdict(list)
    total = 0
    for r in results.get("results", []):
        uid = str(r.get("unique_id", ""))
        if not uid.startswith(("test.", "unit_test.")):
            continue
        total += 1
        if r.get("status") not in ("fail", "error"):
            continue
        node = nodes.get(uid, {})
        attached = node.get("attached_node") or next(
            iter(node.get("depends_on", {}).get("nodes", [])), ""
        )
        failed[_stream_of(attached.rsplit(".", 1)[-1] if attached else uid)].append(uid)
    generated = to_epoch(results.get("metadata", {}).get("generated_at"))
    return DbtResults(generated, total, dict(failed))


# -- warehouse ---------------------------------------------------------------------------


@dataclass
class WarehouseSnapshot:
    newest_updated_at: dict[tuple[str, str], float] = field(default_factory=dict)
    covered_to: dict[tuple[str, str], float] = field(default_factory=dict)
    coverage_gaps: dict[tuple[str, str], int] = field(default_factory=dict)
    first_gap: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    quarantine_rows: dict[tuple[str, str], int] = field(default_factory=dict)
    # (environment, resource) -> the delete guard's row for a held-back newest id snapshot,
    # with up to HELD_IDS_SHOWN of the ids it would have flagged (monitoring.delete_guard,
    # monitoring.held_back_deletes). None when dbt has not built them yet.
    held_back_deletes: dict[tuple[str, str], dict[str, Any]] | None = None


HELD_IDS_SHOWN = 20
_HELD_SQL = f"""
select g.environment, g.resource, g.guard_status, g.newest_snapshot_id, g.ids_listed,
       g.id_count, g.previous_id_count, g.known_ids, g.ids_newly_missing,
       (select list(h.id order by h.id)[1:{HELD_IDS_SHOWN}] from monitoring.held_back_deletes h
        where h.environment = g.environment and h.resource = g.resource) as ids
from monitoring.delete_guard g
where g.guard_status <> 'applied'
"""


# Gaps in the union of [covered_from, covered_to] per (environment, stream): a page whose
# covered_from lies beyond everything covered before it (design.md, coverage_ledger).
_GAPS_SQL = """
with l as (
    select environment, stream, cast(covered_from as varchar) as f, cast(covered_to as varchar) as t
    from raw.coverage_ledger where covered_from is not null and covered_to is not null
), o as (
    select *, max(t) over (partition by environment, stream order by f, t
                           rows between unbounded preceding and 1 preceding) as reach
    from l
)
select environment, stream, count(*) filter (where f > reach),
       min(reach) filter (where f > reach), min(f) filter (where f > reach)
from o group by 1, 2
"""


def read_warehouse(path: Path) -> WarehouseSnapshot | None:
    """Read-only look at DuckDB's raw layer; None when absent or locked by a writer."""
    if not path.exists():
        return None
    try:
        import duckdb
    except ImportError:
        log.warning("duckdb is not installed: freshness and coverage are not evaluated")
        return None
    snap = WarehouseSnapshot()
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        # The loader holds DuckDB's single-writer lock during a load: skip, don't guess.
        log.warning("warehouse not readable now (%s)", exc)
        return None
    try:
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        }
        for stream in RESOURCE_STREAMS:
            if stream not in tables:
                continue
            rows = con.execute(
                f'select environment, max(updated_at) from raw."{stream}" group by 1'
            ).fetchall()
            for env, newest in rows:
                epoch = to_epoch(newest)
                if epoch is not None:
                    snap.newest_updated_at[(str(env), stream)] = epoch
        if "coverage_ledger" in tables:
            for env, stream, gaps, gap_from, gap_to in con.execute(_GAPS_SQL).fetchall():
                snap.coverage_gaps[(str(env), str(stream))] = int(gaps)
                if gaps:
                    snap.first_gap[(str(env), str(stream))] = (str(gap_from), str(gap_to))
            q = "select environment, stream, max(covered_to) from raw.coverage_ledger group by 1, 2"
            for env, stream, reach in con.execute(q).fetchall():
                epoch = to_epoch(reach)
                if epoch is not None:
                    snap.covered_to[(str(env), str(stream))] = epoch
        if "quarantine" in tables:
            q = "select environment, stream, count(*) from raw.quarantine group by 1, 2"
            for env, stream, n in con.execute(q).fetchall():
                snap.quarantine_rows[(str(env), str(stream))] = int(n)
        monitoring = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'monitoring'"
            ).fetchall()
        }
        if {"delete_guard", "held_back_deletes"} <= monitoring:
            cur = con.execute(_HELD_SQL)
            names = [d[0] for d in cur.description]
            snap.held_back_deletes = {
                (str(row[0]), str(row[1])): dict(zip(names, row, strict=True))
                for row in cur.fetchall()
            }
    except duckdb.Error as exc:
        log.warning("warehouse query failed (%s)", exc)
        return None
    finally:
        con.close()
    return snap
