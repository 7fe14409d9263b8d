"""Push latency: a vendor change -> its signed webhook -> the receiver -> the early trigger ->
``meltano run incremental`` -> the row in ``analytics.payments``. Prints one line per change
and the summary.

    .venv/bin/python -m bench.webhooks_latency --changes 5 --debounce-seconds 2

Each change is a payment update the vendor will not list for 6 hours (``touch`` with a lag),
so polling cannot bring it: the figure is the push path alone. The sandbox pushes every
0.5 s; the trigger (``partnerapi-webhooks trigger``) waits ``--debounce-seconds`` of quiet,
then runs the job. Latency = from the change to the end of the first job after which the
warehouse shows the new ``updated_at`` (read only between jobs: DuckDB lets no reader in while
the loader writes, and a reader would make the loader fail). Logs: output/bench/webhooks_latency/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from bench.common import ROOT, bench_sandbox
from bench.cycle import MELTANO, _env
from partnerapi_webhooks.process import ReceiverProcess

SECRET = "whsec_bench_latency"
TRIGGER = str(Path(sys.executable).with_name("partnerapi-webhooks"))


def curated_updated_at(db: Path, payment_id: str) -> str | None:
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute("select strftime(updated_at, '%Y-%m-%dT%H:%M:%S.%fZ') "
                          "from analytics.payments where id = ?", [payment_id]).fetchone()
    return row[0] if row else None


def finished_runs(log: Path) -> list[str]:
    """The trigger's "run N: exit status S ..." lines so far."""
    return [line for line in log.read_text().splitlines() if ": exit status " in line]


def measure(changes: int, debounce: float, workdir: Path) -> list[float]:
    with ReceiverProcess(workdir / "receiver", secrets=[SECRET]) as receiver, \
            bench_sandbox(workdir / "sandbox.log", scale="small",
                          webhook_url=receiver.webhook_url, webhook_secrets=[SECRET]) as sandbox:
        env = _env(workdir, sandbox.url, "2020-01-01T00:00:00Z")
        env["TAP_PARTNERAPI_WEBHOOKS_LANDING"] = str(receiver.landing)
        warm = subprocess.run([MELTANO, "run", "incremental"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=900)
        if warm.returncode:
            raise RuntimeError(f"warm-up run failed:\n{warm.stderr[-3000:]}")
        trigger_log = (workdir / "trigger.log").open("w")
        trigger = subprocess.Popen(
            [TRIGGER, "trigger", "--landing", str(receiver.landing), "--environment",
             "sandbox", "--debounce-seconds", str(debounce), "--max-delay-seconds", "30",
             "--min-interval-seconds", "0", "--poll-seconds", "0.5", "--",
             MELTANO, "run", "incremental"],
            cwd=ROOT, env=env, stdout=trigger_log, stderr=subprocess.STDOUT)
        db = workdir / "warehouse.duckdb"
        latencies: list[float] = []
        try:
            for n in range(changes):
                seen = len(finished_runs(workdir / "trigger.log"))
                started = time.monotonic()
                change = sandbox.touch("payments", lag_seconds=6 * 3600)
                while True:
                    if time.monotonic() - started > 300:
                        raise RuntimeError(f"change {n + 1} not curated after 300 s; see "
                                           f"{workdir / 'trigger.log'}")
                    runs = finished_runs(workdir / "trigger.log")
                    if len(runs) > seen:
                        seen = len(runs)
                        if " exit status 0 " not in runs[-1]:
                            raise RuntimeError(f"triggered job failed: {runs[-1]}")
                        if curated_updated_at(db, change["id"]) == change["updated_at"]:
                            break
                    time.sleep(0.1)
                latencies.append(time.monotonic() - started)
                print(f"change {n + 1}: payment {change['id']} curated "
                      f"{latencies[-1]:.1f} s after the vendor wrote it ({runs[-1].strip()})",
                      flush=True)
        finally:
            trigger.send_signal(signal.SIGTERM)
            trigger.wait(timeout=120)
            trigger_log.close()
    return latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks_latency",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--debounce-seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    workdir = ROOT / "output" / "bench" / "webhooks_latency"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    latencies = measure(args.changes, args.debounce_seconds, workdir)
    print(json.dumps({"changes": len(latencies), "debounce_seconds": args.debounce_seconds,
                      "median_seconds": round(statistics.median(latencies), 1),
                      "max_seconds": round(max(latencies), 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
