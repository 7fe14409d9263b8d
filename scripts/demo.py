"""`make demo`: the whole pipeline against the local sandbox, end to end, with a summary.

Steps: reset the dev warehouse and the dev Meltano state (so that re-running gives the same
result), start the vendor sandbox with mild faults, run the `incremental` job (tap ->
target-duckdb -> dbt build), advance the sandbox clock (new, updated, deleted and late
records), run `incremental` again, run the `reconcile` job (id snapshots -> delete flags),
then print rows per curated table, dbt data tests, freshness and the retries the tap
survived. The sandbox is stopped however the demo ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sandbox_process import SandboxProcess

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "output"
DEMO_DIR = OUT / "demo"
SUMMARY_FILE = DEMO_DIR / "tap_summary.jsonl"
RUN_RESULTS = ROOT / "transform" / "target" / "run_results.json"
MELTANO = str(Path(sys.executable).with_name("meltano"))
STATE_IDS = (
    "dev:tap-partnerapi-to-target-duckdb",
    "dev:tap-partnerapi--reconcile-to-target-duckdb",
)
RESOURCES = (
    "customers",
    "plans",
    "subscriptions",
    "invoices",
    "invoice_items",
    "payments",
    "refunds",
    "events",
)
ADVANCE_HOURS = 3


class DemoError(RuntimeError):
    pass


def warehouse_path() -> Path:
    raw = os.environ.get("PARTNERAPI_DUCKDB_PATH")
    return Path(raw) if raw else OUT / "warehouse.duckdb"


def step(title: str) -> None:
    print(f"==> {title}", flush=True)


def meltano(args: list[str], env: dict[str, str], log_name: str) -> float:
    """Run one Meltano command, its output into output/demo/<log_name>.log."""
    log = DEMO_DIR / f"{log_name}.log"
    started = time.monotonic()
    with log.open("w") as fh:
        proc = subprocess.run(
            [MELTANO, *args],
            cwd=ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise DemoError(
            f"`meltano {' '.join(args)}` failed (exit {proc.returncode}); "
            f"last lines of {log.relative_to(ROOT)}:\n{tail}"
        )
    print(f"    ok in {elapsed:.0f} s (log: {log.relative_to(ROOT)})", flush=True)
    return elapsed


def reset(env: dict[str, str]) -> None:
    db = warehouse_path()
    for path in (db, db.with_name(db.name + ".wal")):
        path.unlink(missing_ok=True)
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    for old in DEMO_DIR.iterdir():
        old.unlink()
    for state_id in STATE_IDS:
        meltano(["state", "clear", "--force", state_id], env, f"state-clear-{state_id[4:]}")


def raw_keys(db: Path) -> dict[str, dict[tuple[str, str], str]]:
    """Per resource: {(id, version): updated_at} of every raw row."""
    keys: dict[str, dict[tuple[str, str], str]] = {}
    with duckdb.connect(str(db), read_only=True) as con:
        present = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        }
        for res in RESOURCES:
            if res not in present:
                continue
            id_col = "event_id" if res == "events" else "id"
            rows = con.execute(
                f'select "{id_col}", _pa_version, cast(updated_at as varchar) from raw."{res}"'
            ).fetchall()
            keys[res] = {(r[0], r[1]): r[2] for r in rows}
    return keys


def late_arrivals(before: dict, after: dict) -> tuple[int, int]:
    """(new versions in run 2, of which older than run 1's newest record of that stream)."""
    new_total = late = 0
    for res, rows in after.items():
        seen = before.get(res, {})
        newest_before = max(seen.values(), default="")
        for key, updated_at in rows.items():
            if key not in seen:
                new_total += 1
                late += updated_at < newest_before
    return new_total, late


def curated_counts(db: Path) -> list[tuple[str, int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'analytics' order by table_name"
            ).fetchall()
        ]
        return [
            (t, con.execute(f'select count(*) from analytics."{t}"').fetchone()[0]) for t in tables
        ]


def coverage_lag(db: Path, clock: str) -> list[tuple[str, str]]:
    """Per stream: the newest instant the coverage ledger proves read without gap."""
    with duckdb.connect(str(db), read_only=True) as con:
        try:
            rows = con.execute(
                "select stream, max(cast(covered_to as varchar)) from raw.coverage_ledger "
                "group by stream order by stream"
            ).fetchall()
        except duckdb.CatalogException:
            return []
    return [(stream, covered_to) for stream, covered_to in rows if stream] if clock else []


def dbt_results() -> dict[str, dict[str, int]]:
    """Counts by resource type (model, test, ...) and status from dbt's last run_results."""
    if not RUN_RESULTS.exists():
        return {}
    counts: dict[str, dict[str, int]] = {}
    for result in json.loads(RUN_RESULTS.read_text())["results"]:
        kind = result["unique_id"].split(".", 1)[0]
        by_status = counts.setdefault(kind, {})
        by_status[result["status"]] = by_status.get(result["status"], 0) + 1
    return counts


def tap_summaries() -> list[dict]:
    if not SUMMARY_FILE.exists():
        return []
    return [json.loads(line) for line in SUMMARY_FILE.read_text().splitlines() if line.strip()]


def print_summary(db: Path, runs: list[dict], sandbox: SandboxProcess) -> bool:
    print("\n================ demo summary ================")
    for run in runs:
        print(f"{run['name']:<26} {run['requests']:>5} API requests  {run['seconds']:>4.0f} s")
    if "late" in runs[1]:
        print(
            f"second incremental run: {runs[1]['new_versions']} new record versions, "
            f"{runs[1]['late']} of them late (older than the first run's newest record)"
        )

    print("\ncurated tables (schema analytics):")
    for table, count in curated_counts(db):
        print(f"  {table:<28} {count:>7} rows")

    results = dbt_results()
    tests = results.get("test", {})
    failed = sum(n for status, n in tests.items() if status in ("fail", "error"))
    models = json.dumps(results.get("model", {}))
    print(f"\ndbt (last build): tests {json.dumps(tests)}; models {models}")

    clock = sandbox.admin("GET", "/_sandbox/clock")
    now = clock.get("now") or clock.get("clock") or next(iter(clock.values()), "")
    print(f"\nfreshness (sandbox clock {now}): coverage ledger proves each stream read up to")
    for stream, covered_to in coverage_lag(db, str(now)):
        print(f"  {stream:<16} {covered_to}")

    summaries = tap_summaries()
    retries: dict[str, int] = {}
    for s in summaries:
        for cause, n in (s.get("retries") or {}).items():
            retries[cause] = retries.get(cause, 0) + n
    statuses = {s.get("status") for s in summaries}
    print(
        f"\nretries survived by the tap: {sum(retries.values())} {json.dumps(retries)}; "
        f"HTTP 429: {sum(s.get('http_429', 0) for s in summaries)}; "
        f"quarantined: {sum(s.get('quarantined', 0) for s in summaries)}; "
        f"stream statuses: {sorted(str(x) for x in statuses)}"
    )
    faults = sandbox.admin("GET", "/_sandbox/counters").get("faults", {})
    print(f"faults injected by the sandbox: {json.dumps(faults)}")
    ok = failed == 0 and bool(tests)
    print(f"\nresult: {'OK' if ok else 'FAILED'} - warehouse {db}")
    return ok


def main() -> int:
    started = time.monotonic()
    # SIGTERM (e.g. from `timeout`) must still run the `finally` that stops the sandbox.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    env = {
        **os.environ,
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "1",
        "TAP_PARTNERAPI_SUMMARY_PATH": str(SUMMARY_FILE),
    }
    db = warehouse_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    step(f"reset: warehouse {db}, Meltano state of the dev pipelines")
    reset(env)

    step("start the sandbox (seed 7, scale small, mild faults)")
    with SandboxProcess(log=DEMO_DIR / "sandbox.log", faults="mild") as sandbox:
        env["TAP_PARTNERAPI_API_URL"] = sandbox.url
        print(f"    {sandbox.url}")
        runs: list[dict] = []

        def run_job(name: str, job: str, run_id: str) -> None:
            step(f"meltano run {job}  ({name})")
            before = sandbox.requests()
            seconds = meltano(["run", job], {**env, "TAP_PARTNERAPI_RUN_ID": run_id}, run_id)
            runs.append({"name": name, "requests": sandbox.requests() - before, "seconds": seconds})

        run_job("incremental #1 (initial)", "incremental", "demo-incremental-1")
        keys_before = raw_keys(db)
        step(f"advance the sandbox clock by {ADVANCE_HOURS} h (new, updated, deleted, late)")
        sandbox.admin("POST", "/_sandbox/advance", {"hours": ADVANCE_HOURS})
        run_job("incremental #2", "incremental", "demo-incremental-2")
        new_versions, late = late_arrivals(keys_before, raw_keys(db))
        runs[-1].update(new_versions=new_versions, late=late)
        run_job("reconcile (deletes)", "reconcile", "demo-reconcile-1")
        ok = print_summary(db, runs, sandbox)
    print(f"demo finished in {time.monotonic() - started:.0f} s; sandbox stopped")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DemoError as exc:
        print(f"\nDEMO FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
