"""`make demo` (`python -m scripts.demo`): the whole pipeline against the local sandbox, end to
end, with a summary.

Steps: reset the dev warehouse and the dev Meltano state (so that re-running gives the same
result), start the vendor sandbox with mild faults, run the `incremental` job (tap ->
target-duckdb-bulk -> dbt build), advance the sandbox clock (new, updated, deleted and late
records; the sandbox pushes each change as a signed webhook to the local receiver), run
`incremental` again (polled and pushed versions, deletes flagged early from the webhooks),
run the `reconcile` job (id snapshots -> delete flags), have the sandbox write its settlement
drops in two phases with the `settlements` job after each, then print rows per curated table,
the payment reconciliation (matched / mismatched / unsettled), dbt data tests, freshness and
the retries the tap survived. The sandbox and the receiver are
stopped however the demo ends.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from partnerapi_sandbox.process import SandboxProcess
from partnerapi_webhooks import reader
from partnerapi_webhooks.process import ReceiverProcess
from scripts.demo_summary import DELETABLE, print_summary
from tap_partnerapi.schema import RESOURCE_PROPERTIES

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "output"
DEMO_DIR = OUT / "demo"
SUMMARY_FILE = DEMO_DIR / "tap_summary.jsonl"
RUN_RESULTS = ROOT / "transform" / "target" / "run_results.json"
MELTANO = str(Path(sys.executable).with_name("meltano"))
RESOURCES = tuple(RESOURCE_PROPERTIES)
ADVANCE_HOURS = 3
WEBHOOK_DIR = DEMO_DIR / "webhooks"
SETTLEMENT_DIR = DEMO_DIR / "settlements"
# The demo's drops carry every fault but a disagreeing file: a quarantined file stays in
# raw.quarantine, whose dbt test fails every build until someone resolves it (the tests
# show that path: tests/pipeline/test_settlements_*.py).
SETTLEMENT_FAULTS = ("late", "redelivery", "correction", "in_progress")
# A throwaway signing secret shared by the local sandbox and receiver (never a real one).
WEBHOOK_SECRET = "whsec_demo_local"


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


def reset() -> None:
    """Start from nothing: no warehouse, no dbt results, no demo outputs. Meltano state is
    ignored by the first runs (--full-refresh) and then replaced, so re-running gives the
    same result."""
    db = warehouse_path()
    for path in (db, db.with_name(db.name + ".wal"), RUN_RESULTS):
        path.unlink(missing_ok=True)
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    for old in DEMO_DIR.iterdir():
        if old.is_dir():
            shutil.rmtree(old)
        else:
            old.unlink()


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


def wait_for_webhooks(landing: Path, quiet_seconds: float = 2.0,
                      timeout: float = 120.0) -> int:
    """Landed notifications once none arrived for ``quiet_seconds`` (the sandbox pushes every
    0.5 s and retries until acknowledged)."""
    deadline = time.monotonic() + timeout
    count, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = len(reader.list_keys(landing, "sandbox"))
        if now != count:
            count, since = now, time.monotonic()
        elif count > 0 and time.monotonic() - since >= quiet_seconds:
            return count
        time.sleep(0.25)
    raise DemoError(f"webhook notifications still arriving after {timeout:.0f} s "
                    f"(see {DEMO_DIR / 'sandbox.log'})")


def webhook_effect(db: Path) -> dict[str, int]:
    """What the pushed notifications did before any reconciliation ran."""
    with duckdb.connect(str(db), read_only=True) as con:
        def one(sql: str) -> int:
            return int(con.execute(sql).fetchone()[0])

        marts = [name for (name,) in con.execute(
            "select table_name from information_schema.columns where table_schema = "
            "'analytics' and column_name = '_pa_request_id' and table_name not like "
            "'%_history'").fetchall()]
        curated = sum(one(f"select count(*) from analytics.{mart} where _pa_request_id "
                          f"like 'webhook:%'") for mart in marts)
        flagged = sum(one(f"select count(*) from analytics.{res} where deleted_source = "
                          f"'webhook'") for res in DELETABLE)
        return {"raw": one("select count(*) from raw.webhook_notifications"),
                "curated_from_push": curated, "deletes_flagged_early": flagged}


def settlement_runs(sandbox: SandboxProcess, env: dict[str, str],
                    run_job: Callable[[str, list[str], str], None]) -> dict:
    """The vendor's settlement drops (Parquet, in a folder): on-time drops and uploads in
    progress, `meltano run settlements`; then late drops, a re-delivery, a correction and
    the missing manifests, and the job again. The reconciliation mart is then rebuilt as of
    the sandbox's clock, so its counts compare exactly with what the sandbox expects."""
    options = {"days": 10, "faults": list(SETTLEMENT_FAULTS)}
    env["TAP_PARTNERAPI_SETTLEMENTS_LOCATION"] = str(SETTLEMENT_DIR)
    for n, phase in enumerate(("initial", "final"), start=1):
        step(f"the sandbox writes settlement drops ({phase} phase) to "
             f"{SETTLEMENT_DIR.relative_to(ROOT)}")
        scenario = sandbox.admin("POST", "/_sandbox/settlements",
                                 {**options, "location": str(SETTLEMENT_DIR),
                                  "format": "parquet", "phase": phase})
        print(f"    {scenario['written']} objects written")
        # The first run ignores Meltano state, as incremental #1 does: same demo, same result.
        args = ["--full-refresh", "settlements"] if n == 1 else ["settlements"]
        run_job(f"settlements #{n}", args, f"demo-settlements-{n}")
    dbt_vars = {"settlement_as_of": scenario["as_of"].replace("T", " ").rstrip("Z"),
                "settlement_expected_from":
                    scenario["expected_from"].replace("T", " ").rstrip("Z"),
                "settlement_grace_days": scenario["grace_days"]}
    step("dbt: payment_reconciliation as of the sandbox's clock")
    meltano(["invoke", "dbt-duckdb", "build", "--select", "payment_reconciliation",
             "--vars", json.dumps(dbt_vars)],
            {**env, "DBT_TARGET_PATH": str(DEMO_DIR / "dbt_reconciliation")},
            "demo-settlements-reconciliation")
    return scenario


def main(argv: list[str] | None = None) -> int:
    # No options: the parser gives `--help` (the docs check runs every command with it).
    argparse.ArgumentParser(prog="python -m scripts.demo", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    started = time.monotonic()
    # SIGTERM (e.g. from `timeout`) must still run the `finally` that stops the sandbox.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    env = {
        **os.environ,
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "1",
        "TAP_PARTNERAPI_SUMMARY_PATH": str(SUMMARY_FILE),
        # Small pages on the small sandbox: enough requests for the mild faults to bite and
        # for the second run to visibly read less than the first.
        "TAP_PARTNERAPI_PAGE_SIZE": "200",
    }
    db = warehouse_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    step(f"reset: warehouse {db} (the first runs ignore Meltano state: --full-refresh)")
    reset()

    step("start the webhook receiver (partnerapi-webhooks serve)")
    receiver = ReceiverProcess(WEBHOOK_DIR, secrets=[WEBHOOK_SECRET])
    env["TAP_PARTNERAPI_WEBHOOKS_LANDING"] = str(receiver.landing)
    step("start the sandbox (seed 7, scale small, mild faults, 3 s hangs, pushing webhooks)")
    # Hung and slow answers last 3 s instead of the vendor's 35 s: the same recovery paths,
    # without a demo that waits minutes on them.
    with receiver, SandboxProcess(DEMO_DIR / "sandbox.log", seed=7, scale="small",
                                  faults="mild", hang_seconds=3,
                                  webhook_url=receiver.webhook_url,
                                  webhook_secrets=[WEBHOOK_SECRET]) as sandbox:
        print(f"    receiver {receiver.webhook_url} -> {receiver.landing.relative_to(ROOT)}")
        env["TAP_PARTNERAPI_API_URL"] = sandbox.url
        print(f"    {sandbox.url}")
        runs: list[dict] = []

        def run_job(name: str, args: list[str], run_id: str) -> None:
            step(f"meltano run {' '.join(args)}  ({name})")
            before = sandbox.requests()
            seconds = meltano(["run", *args], {**env, "TAP_PARTNERAPI_RUN_ID": run_id}, run_id)
            runs.append({"name": name, "requests": sandbox.requests() - before, "seconds": seconds})

        run_job("incremental #1 (initial)", ["--full-refresh", "incremental"], "demo-incremental-1")
        keys_before = raw_keys(db)
        step(f"advance the sandbox clock by {ADVANCE_HOURS} h (new, updated, deleted, late)")
        sandbox.admin("POST", "/_sandbox/advance", {"hours": ADVANCE_HOURS})
        landed = wait_for_webhooks(receiver.landing)
        print(f"    {landed} webhook notifications landed")
        run_job("incremental #2", ["incremental"], "demo-incremental-2")
        new_versions, late = late_arrivals(keys_before, raw_keys(db))
        runs[-1].update(new_versions=new_versions, late=late)
        webhooks = webhook_effect(db)
        webhooks["landed"] = landed
        run_job("reconcile (deletes)", ["--full-refresh", "reconcile"], "demo-reconcile-1")
        settlements = settlement_runs(sandbox, env, run_job)
        # The summary also goes to a file: scripts/readme_demo.py puts it into the README, so
        # the README's sample output is always a real run's.
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            ok = print_summary(db, runs, sandbox, RUN_RESULTS, SUMMARY_FILE, webhooks,
                               settlements)
        sys.stdout.write(captured.getvalue())
        (DEMO_DIR / "summary.txt").write_text(captured.getvalue().strip("\n") + "\n")
    print(f"demo finished in {time.monotonic() - started:.0f} s; sandbox stopped")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DemoError as exc:
        print(f"\nDEMO FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
