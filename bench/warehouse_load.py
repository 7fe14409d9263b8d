"""End to end into the warehouse: ``meltano run tap-partnerapi target-duckdb-bulk`` with only
``events`` selected, next to the tap alone in the same run.

Figures: events/s from the start of ``meltano run`` until it exits with every event committed
(rows counted in the warehouse afterwards), the loader's peak RSS (VmHWM of the loader
process, sampled from /proc while it runs), and the same for a BATCH run (the tap writes
jsonl.gz files with singer-sdk's ``batch_config``, the loader bulk-reads them). Each is a
ratio to the tap alone writing to /dev/null (records / its wall time), measured just before
and just after, so a neighbour's load shows as a gap between the two references. A third
loader run over about half the events shows whether the loader's memory grows with the
record count.

``python -m bench.warehouse_load [--quick]`` runs it alone (its own sandbox); ``python -m
bench`` runs it with the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb

from bench.common import ROOT, SandboxProcess, bench_sandbox, clean_env, next_client
from bench.throughput import run_tap

MELTANO = str(Path(sys.executable).with_name("meltano"))
LOADER = "target-duckdb-bulk"
TARGET_RPS, TARGET_RSS_MIB = 25_000, 1024


def _env(workdir: Path, url: str, **tap: str) -> dict[str, str]:
    client_id, secret = next_client()
    env = {k: v for k, v in clean_env().items()
           if not k.startswith(("TARGET_DUCKDB", "MELTANO_", "DBT_", "PARTNERAPI_"))}
    sys_dir = workdir / "meltano_sys"
    sys_dir.mkdir(parents=True, exist_ok=True)
    for kind in ("extractors", "loaders", "utilities"):
        if not (sys_dir / kind).exists():
            (sys_dir / kind).symlink_to(ROOT / ".meltano" / kind)
    env.update({
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "1",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_SYS_DIR_ROOT": str(sys_dir),
        "MELTANO_DATABASE_URI": f"sqlite:///{workdir / 'meltano.db'}",
        "PARTNERAPI_DUCKDB_PATH": str(workdir / "warehouse.duckdb"),
        "TAP_PARTNERAPI_API_URL": url,
        "TAP_PARTNERAPI_CLIENT_ID": client_id,
        "TAP_PARTNERAPI_CLIENT_SECRET": secret,
        "TAP_PARTNERAPI_PAGE_SIZE": "5000",
        "TAP_PARTNERAPI_REQUESTS_PER_MINUTE": "1000",
        "TAP_PARTNERAPI_SUMMARY_PATH": str(workdir / "summary.jsonl"),
        "TAP_PARTNERAPI__SELECT": json.dumps(["events.*"]),
    })
    env.update({f"TAP_PARTNERAPI_{k.upper()}": v for k, v in tap.items()})
    return env


class _Watch(threading.Thread):
    """Polls /proc: the loader's VmHWM (the kernel's own peak RSS) and the CPU seconds of
    each process of the pipeline (loader, tap, Meltano, sandbox) - where the cores went."""

    KINDS = (("loader", b"target-duckdb-bulk"), ("tap", b"tap-partnerapi"),
             ("meltano", b"bin/meltano"), ("sandbox", b"partnerapi-sandbox"))

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kib, self.stop = 0, threading.Event()
        self.cpu: dict[int, tuple[str, float]] = {}
        self.base: dict[int, float] = {}
        self.root = str(ROOT).encode()
        self.tick = os.sysconf("SC_CLK_TCK")

    def run(self) -> None:
        while not self.stop.is_set():
            for proc in Path("/proc").iterdir():
                if not proc.name.isdigit():
                    continue
                try:
                    argv = (proc / "cmdline").read_bytes().split(b"\0")
                    # This checkout's processes only (other worktrees run Meltano too).
                    kind = next((k for k, tail in self.KINDS
                                 if any(a.endswith(tail) and a.startswith(self.root)
                                        for a in argv[:2])), None)
                    if kind is None:
                        continue
                    fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                    seconds = (int(fields[11]) + int(fields[12])) / self.tick
                    # The sandbox predates the run (its data build): count from now on.
                    base = self.base.setdefault(int(proc.name),
                                                seconds if kind == "sandbox" else 0.0)
                    self.cpu[int(proc.name)] = (kind, seconds - base)
                    if kind == "loader":
                        for line in (proc / "status").read_text().splitlines():
                            if line.startswith("VmHWM:"):
                                self.peak_kib = max(self.peak_kib, int(line.split()[1]))
                except (OSError, IndexError, ValueError):
                    continue
            self.stop.wait(0.2)

    def cpu_by_kind(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for kind, seconds in self.cpu.values():
            out[kind] = out.get(kind, 0.0) + seconds
        return out


def run_pipeline(workdir: Path, url: str, name: str, **tap: str) -> dict[str, Any]:
    """One ``meltano run tap-partnerapi target-duckdb-bulk`` into a fresh warehouse."""
    run_dir = workdir / name
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    env = _env(run_dir, url, **tap)
    watcher = _Watch()
    watcher.start()
    started = time.perf_counter()
    with (run_dir / "meltano.log").open("wb") as log:
        proc = subprocess.run([MELTANO, "run", "tap-partnerapi", LOADER], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, timeout=1800)
    wall = time.perf_counter() - started
    watcher.stop.set()
    watcher.join()
    if proc.returncode:
        raise RuntimeError(f"meltano run exited {proc.returncode}; see {run_dir}/meltano.log")
    with duckdb.connect(str(run_dir / "warehouse.duckdb"), read_only=True) as con:
        (rows,) = con.execute("SELECT count(*) FROM raw.events").fetchone()  # type: ignore[misc]
    emitted = sum(int(r.get("records", 0)) for r in map(
        json.loads, (run_dir / "summary.jsonl").read_text().splitlines())
        if r.get("stream") == "events")
    if rows != emitted:
        raise RuntimeError(f"{name}: the tap emitted {emitted} events, {rows} rows landed")
    cpu = watcher.cpu_by_kind()
    return {"rows": rows, "wall": wall, "rps": rows / wall,
            "loader_max_rss_mib": watcher.peak_kib / 1024,
            # CPU microseconds per event of each process (sampled every 0.2 s: the last
            # ~0.2 s of a process may be missed).
            "cpu_us_per_event": {k: 1e6 * v / max(rows, 1) for k, v in sorted(cpu.items())}}


def _tap_alone(sb: SandboxProcess, workdir: Path, name: str) -> dict[str, Any]:
    run = run_tap(sb, workdir, "events", name)
    return {"records": run.records, "wall": run.measured.wall,
            "rps": run.records / run.measured.wall, "stream_rps": run.rps,
            "max_rss_mib": run.measured.max_rss_mib}


def _median_start(workdir: Path, name: str) -> str:
    with duckdb.connect(str(workdir / name / "warehouse.duckdb"), read_only=True) as con:
        (ts,) = con.execute("SELECT strftime(quantile_disc(updated_at, 0.5), "  # type: ignore[misc]
                            "'%Y-%m-%dT%H:%M:%S.%fZ') FROM raw.events").fetchone()
    return str(ts)


def measure(sb: SandboxProcess, workdir: Path, *, with_batch: bool = True) -> dict[str, Any]:
    workdir = workdir / "warehouse_load"
    workdir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"tap_before": _tap_alone(sb, workdir, "wl.tap1")}
    out["records"] = run_pipeline(workdir, sb.url, "records")
    if with_batch:
        files = workdir / "batch-files"
        shutil.rmtree(files, ignore_errors=True)
        files.mkdir()
        out["batch"] = run_pipeline(workdir, sb.url, "batch", batch_config=json.dumps({
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": files.as_uri(), "prefix": "events-"}}))
        out["batch"]["files"] = len(list(files.iterdir()))
        shutil.rmtree(files, ignore_errors=True)
    out["half"] = run_pipeline(workdir, sb.url, "half",
                               start_date=_median_start(workdir, "records"))
    out["tap_after"] = _tap_alone(sb, workdir, "wl.tap2")
    tap_rps = (out["tap_before"]["rps"] + out["tap_after"]["rps"]) / 2
    out["tap_rps"] = tap_rps
    out["tap_disturbed"] = (abs(out["tap_before"]["rps"] - out["tap_after"]["rps"])
                            / tap_rps > 0.15)
    for key in ("records", "batch", "half"):
        if key in out:
            out[key]["ratio_vs_tap"] = out[key]["rps"] / tap_rps
    out["rss_growth"] = (out["records"]["loader_max_rss_mib"]
                         / max(out["half"]["loader_max_rss_mib"], 1e-9))
    return out


def lines(r: dict[str, Any]) -> list[str]:
    """Table rows for docs/benchmarks.md."""
    def row(label: str, m: dict[str, Any]) -> str:
        ok = m["rps"] >= TARGET_RPS and m["loader_max_rss_mib"] <= TARGET_RSS_MIB
        return (f"| {label} | {m['rows']:,} events in {m['wall']:.1f} s: **{m['rps']:,.0f} "
                f"events/s**, {m['ratio_vs_tap']:.2f}x the tap alone | loader peak RSS "
                f"{m['loader_max_rss_mib']:,.0f} MiB | {'meets' if ok else 'misses'} "
                f"≥ {TARGET_RPS:,}/s, ≤ 1 GiB |")
    out = [row("end to end into the warehouse (RECORD)", r["records"])]
    if "batch" in r:
        out.append(row(f"end to end into the warehouse (BATCH, {r['batch']['files']} jsonl.gz "
                       "files)", r["batch"]))
    out.append(row("the same, ~half the events (memory flatness)", r["half"]))
    for key in ("records", "batch"):
        if key in r:
            cpu = ", ".join(f"{k} {v:.0f}" for k, v in r[key]["cpu_us_per_event"].items())
            out.append(f"| CPU per event ({key}) | {cpu} µs | | |")
    out.append(f"| tap alone (reference, before / after) | {r['tap_before']['rps']:,.0f} / "
               f"{r['tap_after']['rps']:,.0f} events/s (wall, start-up included)"
               f"{' - disturbed, repeat' if r['tap_disturbed'] else ''} | tap peak RSS "
               f"{r['tap_before']['max_rss_mib']:,.0f} MiB | loader RSS full/half "
               f"{r['rss_growth']:.2f}x |")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="medium sandbox, no BATCH run")
    parser.add_argument("--workdir", type=Path, default=ROOT / "output" / "bench")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    sb = bench_sandbox(args.workdir / "sandbox-wl.log", seed=3,
                       scale="medium" if args.quick else "large",
                       rate_limit_per_minute=1_000_000)
    sb.start()
    try:
        sb.wait_ready()
        result = measure(sb, args.workdir, with_batch=not args.quick)
    finally:
        sb.stop()
    (args.workdir / "warehouse_load.json").write_text(json.dumps(result, indent=2))
    print("\n".join(lines(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
