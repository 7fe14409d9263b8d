"""Tap throughput next to the bare client floor, on the same sandbox in the same run.

The tap writes Singer messages to /dev/null (rate limit off: sandbox 1,000,000/min, tap at
its maximum budget 1,000/min, which no run here reaches - the budget window holds 1,000
requests and the largest run makes ~220). The floor is ``bench.floor``: requests + a JSON
decode per page. Each side is its own process; the sandbox is a third one.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from bench.common import (
    Measured,
    SandboxProcess,
    next_client,
    run_measured,
    summary_of,
    tap_argv,
    tap_catalog,
    tap_config,
)

FAR_FUTURE = "2100-01-01T00:00:00Z"


def run_floor(sb: SandboxProcess, workdir: Path, resource: str, decoder: str = "json",
              since: str | None = None) -> dict[str, Any]:
    out = workdir / f"floor.{resource}.{decoder}.json"
    argv = [sys.executable, "-m", "bench.floor", "--url", sb.url, "--resource", resource,
            "--decoder", decoder, "--out", str(out), "--client", ":".join(next_client())]
    if since:
        argv += ["--since", since]
    m = run_measured(argv, stderr_path=workdir / f"floor.{resource}.{decoder}.log")
    if m.returncode:
        raise RuntimeError(f"floor {resource} failed; see {workdir}")
    result = json.loads(out.read_text())
    result["cpu"] = m.cpu
    result["max_rss_mib"] = m.max_rss_mib
    return result


@dataclasses.dataclass
class TapRun:
    measured: Measured
    records: int
    stream_seconds: float  # from the tap's summary: the sync itself, without start-up

    @property
    def rps(self) -> float:
        return self.records / max(self.stream_seconds, 1e-9)


def run_tap(sb: SandboxProcess, workdir: Path, resource: str, name: str, *,
            count_stdout: bool = False, prefix: list[str] | None = None,
            command: list[str] | None = None, **settings: Any) -> TapRun:
    """One tap process syncing ``resource``. ``prefix``: a profiler wrapping the tap;
    ``command``: another entry point than ``tap-partnerapi`` (bench.whatif)."""
    config = tap_config(workdir, sb.url, name, **settings)
    catalog = tap_catalog(workdir, config, {resource})
    argv = tap_argv(config, catalog)
    if command:
        argv = [*command, *argv[1:]]
    m = run_measured([*(prefix or []), *argv],
                     stderr_path=workdir / f"{name}.log", count_stdout=count_stdout)
    if m.returncode:
        raise RuntimeError(f"tap run {name} exited {m.returncode}; see {workdir}/{name}.log")
    return TapRun(m, *summary_of(config, resource))


def measure(sb: SandboxProcess, workdir: Path, resource: str, repeats: int) -> dict[str, Any]:
    """Best of ``repeats`` for the floor (stdlib json and msgspec) and the tap, interleaved
    so that a noisy neighbour hurts both sides alike."""
    floors: dict[str, dict[str, Any]] = {}
    taps: list[TapRun] = []
    for _ in range(repeats):
        for decoder in ("json", "msgspec"):
            f = run_floor(sb, workdir, resource, decoder)
            if decoder not in floors or f["seconds"] < floors[decoder]["seconds"]:
                floors[decoder] = f
        taps.append(run_tap(sb, workdir, resource, f"tap.{resource}"))
    tap = max(taps, key=lambda r: r.rps)
    floor = floors["json"]
    if tap.records != floor["records"]:
        raise RuntimeError(f"{resource}: tap emitted {tap.records} records, the floor read "
                           f"{floor['records']}")
    # Singer bytes, from one extra run whose stdout is counted through a pipe (the last
    # ~100k records when there are many: bytes per record do not depend on the count).
    since = next((u for n, u in floor["boundaries"]
                  if floor["records"] - n <= 100_000), None) if tap.records > 200_000 else None
    sized = run_tap(sb, workdir, resource, f"tap.{resource}.sized", count_stdout=True,
                    **({"start_date": since} if since else {}))
    api_mb = floor["api_bytes"] / 1e6
    singer_mb = sized.measured.out_bytes / 1e6 * tap.records / max(sized.records, 1)
    # CPU per record of the sync alone: the start-up (interpreter, imports, discovery,
    # token, one empty page) is measured by a run that lists nothing and is subtracted.
    # On a shared machine this is the steadiest figure: what one whole core would give.
    empty_tap = run_tap(sb, workdir, resource, f"tap.{resource}.empty",
                        start_date=FAR_FUTURE)
    empty_floor = run_floor(sb, workdir, resource, "json", since=FAR_FUTURE)
    tap_sync_cpu = max(tap.measured.cpu - empty_tap.measured.cpu, 1e-9)
    floor_sync_cpu = max(floor["cpu"] - empty_floor["cpu"], 1e-9)
    floor_rps = floor["records"] / floor["seconds"]
    msgspec_rps = floors["msgspec"]["records"] / floors["msgspec"]["seconds"]
    return {
        "resource": resource, "records": tap.records, "pages": floor["pages"],
        "api_mb": api_mb, "singer_mb": singer_mb,
        "tap_seconds": tap.stream_seconds, "tap_wall": tap.measured.wall,
        "tap_cpu": tap.measured.cpu, "tap_rps": tap.rps,
        "tap_wall_rps": tap.records / tap.measured.wall,
        "tap_cpu_share": tap.measured.cpu / tap.measured.wall,
        "tap_api_mbps": api_mb / tap.stream_seconds,
        "tap_singer_mbps": singer_mb / tap.stream_seconds,
        "tap_max_rss_mib": tap.measured.max_rss_mib,
        "floor_seconds": floor["seconds"], "floor_rps": floor_rps,
        "floor_max_rss_mib": floor["max_rss_mib"],
        "floor_api_mbps": api_mb / floor["seconds"], "floor_msgspec_rps": msgspec_rps,
        "ratio_vs_floor": tap.rps / floor_rps, "ratio_vs_msgspec_floor": tap.rps / msgspec_rps,
        "tap_startup_cpu": empty_tap.measured.cpu,
        "tap_rps_per_core": tap.records / tap_sync_cpu,
        "floor_rps_per_core": floor["records"] / floor_sync_cpu,
        "ratio_per_core": floor_sync_cpu / tap_sync_cpu,
        "boundaries": floor["boundaries"],
    }
