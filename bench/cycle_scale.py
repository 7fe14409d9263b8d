"""Incremental cycle at scale (issue 18): the same delta - one simulated hour of vendor
activity - applied by ``meltano run incremental`` to a medium and to a large warehouse.

    python -m bench.cycle_scale [--scales medium,large] [--workdir DIR]

Per scale, isolated like bench.cycle (own system database, warehouse, dbt target): a first
``meltano run incremental`` loads the whole sandbox and builds every model. The sandbox then
advances one hour, at the activity that gives every scale the large sandbox's hour (~36,000
records, ACTIVITY), and the second run - the one a 5-minute schedule repeats - is
measured: whole-run seconds, the dbt block's seconds (as Meltano reports it), and the peak
RSS of every process of the run's tree, sampled every 0.2 s (the largest single process, and
dbt's). The figure of interest is the ratio: a cycle must cost the delta, so the large
warehouse's cycle over the medium's is ~1, not the ratio of their sizes.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from bench.common import ROOT, SandboxProcess, bench_sandbox
from bench.cycle import MELTANO, _env, split

#: The sandbox's activity for one simulated hour to bring about the large sandbox's hour at
#: activity 1.0 (36,063 records, seed 3) on each scale, so both cycles apply one delta.
#: Measured with this bench: activity is not linear in records (medium: 1.0 -> 2,302,
#: 15.7 -> 8,667).
ACTIVITY = {"medium": 65.0, "large": 1.0}


class TreeRSS:
    """Peak RSS (MiB) per process kind of a process tree, sampled in a thread."""

    KINDS = (("dbt", "dbt"), ("target-duckdb-bulk", "loader"),
             ("tap-partnerapi", "tap"), ("meltano", "meltano"))

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.root = psutil.Process(pid)
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _kind(self, proc: psutil.Process) -> str:
        try:
            cmd = " ".join(proc.cmdline())
        except psutil.Error:
            return "other"
        for needle, kind in self.KINDS:
            if needle in cmd:
                return kind
        return "other"

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                return
            for proc in procs:
                try:
                    rss = proc.memory_info().rss / 2**20
                except psutil.Error:
                    continue
                kind = self._kind(proc)
                self.peak[kind] = max(self.peak.get(kind, 0.0), rss)
            self._stop.wait(interval)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return self.peak


def _meltano_run(env: dict[str, str], log: Path, *blocks: str) -> dict[str, Any]:
    started = time.time()
    proc = subprocess.Popen([MELTANO, "--log-format=json", "run", "--timeout", "1800", *blocks],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("w"), text=True)
    rss = TreeRSS(proc.pid)
    code = proc.wait(timeout=1900)
    wall = time.time() - started
    peak = rss.stop()
    if code:
        raise RuntimeError(f"meltano run {' '.join(blocks)} exited {code}; see {log}")
    return {"wall": wall, "split": split(wall, log_rows(log)), "peak_rss_mib": peak}


def log_rows(log: Path) -> list[dict[str, Any]]:
    """The JSON objects of a ``meltano --log-format=json`` log (other lines skipped)."""
    rows = []
    for line in log.read_text().splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


@contextlib.contextmanager
def whole_sandbox(scale: str, workdir: Path) -> Iterator[tuple[SandboxProcess, dict[str, str]]]:
    """A sandbox of ``scale`` (seed 3, faults off) and the environment of an isolated
    Meltano project whose tap reads everything it holds (start date ten years back). The
    workdir starts empty: a warehouse or Meltano state left by an earlier run would make the
    first run a cycle."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    with bench_sandbox(workdir / "sandbox.log", scale=scale, seed=3,
                       startup_timeout=900) as sb:
        now = dt.datetime.fromisoformat(sb.admin("GET", "/_sandbox/clock")["now"]
                                        .replace("Z", "+00:00"))
        start = (now - dt.timedelta(days=3650)).strftime("%Y-%m-%dT%H:%M:%SZ")
        env = _env(workdir, sb.url, start)
        env["TAP_PARTNERAPI__BACKFILL_START_DATE"] = start
        yield sb, env


def measure(scale: str, workdir: Path, hours: float = 1.0) -> dict[str, Any]:
    with whole_sandbox(scale, workdir) as (sb, env):
        first = _meltano_run(env, workdir / "first.log", "incremental")
        records_first = _records(workdir / "summary.jsonl")
        sb.admin("POST", "/_sandbox/config", {"activity": ACTIVITY[scale]})
        sb.admin("POST", "/_sandbox/advance", {"hours": hours})
        cycle = _meltano_run(env, workdir / "cycle.log", "incremental")
        records_cycle = _records(workdir / "summary.jsonl") - records_first
    return {"scale": scale, "first": first, "cycle": cycle, "records_first": records_first,
            "records_cycle": records_cycle,
            "warehouse_mib": (workdir / "warehouse.duckdb").stat().st_size / 2**20}


def _records(summary: Path) -> int:
    return sum(int(json.loads(line)["records"]) for line in summary.read_text().splitlines())


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| warehouse | records loaded first | cycle records | cycle `dbt build` s "
             "| cycle whole run s | cycle peak RSS MiB (largest process / dbt) |",
             "|---|---|---|---|---|---|"]
    for r in results:
        c = r["cycle"]
        lines.append(f"| {r['scale']} | {r['records_first']:,} | {r['records_cycle']:,} | "
                     f"{c['split']['dbt']:.1f} | {c['wall']:.1f} | "
                     f"{max(c['peak_rss_mib'].values()):.0f} / "
                     f"{c['peak_rss_mib'].get('dbt', 0):.0f} |")
    if len(results) == 2:
        small, big = results
        lines.append("")
        lines.append(f"{big['scale']} / {small['scale']}: records loaded "
                     f"{big['records_first'] / small['records_first']:.2f}x, cycle dbt build "
                     f"{big['cycle']['split']['dbt'] / small['cycle']['split']['dbt']:.2f}x, "
                     f"cycle whole run {big['cycle']['wall'] / small['cycle']['wall']:.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="medium,large")
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--workdir", type=Path, default=ROOT / "output" / "bench-cycle-scale")
    args = parser.parse_args(argv)
    results = []
    for scale in args.scales.split(","):
        result = measure(scale, args.workdir.resolve() / scale, args.hours)
        print(json.dumps(result), file=sys.stderr)
        results.append(result)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
