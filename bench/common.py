"""Shared plumbing of the benchmarks: a sandbox in its own process, tap configs and
catalogs, and child processes measured with ``wait4`` (wall, CPU and peak RSS of that one
process, not of the bench itself).

The machine has two cores: the sandbox gets one process, the tap (or the bare client) the
other, and the bench parent only waits, so neither measured side competes with the other.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from partnerapi_sandbox.process import SandboxProcess

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TAP = str(BIN / "tap-partnerapi")
CLIENT_ID, CLIENT_SECRET = "demo-client", "demo-secret"
# The vendor allows 10 token requests per minute per client, and every measured process
# starts with one: each run gets its own client id, so that no run waits on that limit.
BENCH_CLIENTS = 200
_next_client = iter(range(10**9))


def next_client() -> tuple[str, str]:
    n = next(_next_client) % BENCH_CLIENTS
    return f"bench-{n}", f"bench-secret-{n}"


@dataclasses.dataclass
class Measured:
    """One child process: wall seconds, CPU seconds (user + sys), peak RSS in MiB."""

    returncode: int
    wall: float
    cpu: float
    max_rss_mib: float
    out_bytes: int = 0


def run_measured(argv: list[str], *, stdout: Any = subprocess.DEVNULL,
                 stderr_path: Path | None = None, env: dict[str, str] | None = None,
                 count_stdout: bool = False, timeout: float = 900) -> Measured:
    """Run ``argv`` and measure it alone. ``count_stdout``: read its stdout through a pipe
    and count the bytes (what a loader would receive) instead of sending it to /dev/null."""
    err: IO[bytes] | int = subprocess.DEVNULL
    if stderr_path is not None:
        err = stderr_path.open("wb")
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE if count_stdout else stdout,
                            stderr=err, stdin=subprocess.DEVNULL,
                            env=clean_env() if env is None else env, cwd=ROOT)
    out_bytes = 0
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        if count_stdout:
            assert proc.stdout is not None
            fd = proc.stdout.fileno()
            while chunk := os.read(fd, 1 << 20):
                out_bytes += len(chunk)
        # wait4: the rusage of exactly this child (ru_maxrss is KiB on Linux).
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    finally:
        timer.cancel()
        if hasattr(err, "close"):
            err.close()  # type: ignore[union-attr]
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(proc.returncode, wall, usage.ru_utime + usage.ru_stime,
                    usage.ru_maxrss / 1024, out_bytes)


def bench_sandbox(log: Path, *, scale: str, seed: int = 7, rate_limit_per_minute: int = 1000,
                  activity: float = 1.0, startup_timeout: float = 600,
                  rate_limit_window_seconds: float = 60.0, webhook_url: str | None = None,
                  webhook_secrets: Sequence[str] = ()) -> SandboxProcess:
    """``partnerapi-sandbox serve`` for the benchmarks: faults off, the bench's clients, and
    the measured processes' environment; ``build_seconds`` is its data build time."""
    clients = [(CLIENT_ID, CLIENT_SECRET)]
    clients += [(f"bench-{n}", f"bench-secret-{n}") for n in range(BENCH_CLIENTS)]
    return SandboxProcess(
        log, seed=seed, scale=scale, faults="off", rate_limit_per_minute=rate_limit_per_minute,
        rate_limit_window_seconds=rate_limit_window_seconds, activity=activity,
        clients=clients, webhook_url=webhook_url, webhook_secrets=webhook_secrets,
        startup_timeout=startup_timeout, env=clean_env())


def tap_config(workdir: Path, url: str, name: str, **settings: Any) -> Path:
    """A tap config file; ``summary_path`` is always set so the run's record count is known."""
    client_id, client_secret = next_client()
    config = {"api_url": url, "client_id": client_id, "client_secret": client_secret,
              "environment": "sandbox", "page_size": 5000, "requests_per_minute": 1000,
              "summary_path": str(workdir / f"{name}.summary.jsonl"), **settings}
    path = workdir / f"{name}.config.json"
    path.write_text(json.dumps(config))
    summary = Path(config["summary_path"])
    if summary.exists():
        summary.unlink()
    return path


_CATALOG_CACHE: dict[str, Any] = {}


def tap_catalog(workdir: Path, config: Path, streams: set[str]) -> Path:
    """The tap's own discovered catalog with only ``streams`` selected (and the coverage
    ledger, one row per page, which every real run writes)."""
    if "catalog" not in _CATALOG_CACHE:
        out = subprocess.run([TAP, "--config", str(config), "--discover"], check=True,
                             capture_output=True, text=True, cwd=ROOT, env=clean_env())
        _CATALOG_CACHE["catalog"] = json.loads(out.stdout)
    catalog = json.loads(json.dumps(_CATALOG_CACHE["catalog"]))
    wanted = streams | {"coverage_ledger"}
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] in wanted
    path = workdir / f"catalog.{'-'.join(sorted(streams))}.json"
    path.write_text(json.dumps(catalog))
    return path


def summary_of(config: Path, stream: str) -> tuple[int, float]:
    """(records emitted, seconds streaming) for ``stream``, from the tap's run summary.
    The streaming time excludes interpreter start-up and discovery (~1 s), which the floor's
    in-loop timing excludes too."""
    summary = Path(json.loads(config.read_text())["summary_path"])
    records, seconds = 0, 0.0
    for line in summary.read_text().splitlines():
        row = json.loads(line)
        if row.get("stream") == stream:
            records += int(row.get("records", 0))
            seconds += float(row.get("duration_seconds", 0.0))
    return records, seconds


def tap_argv(config: Path, catalog: Path, state: Path | None = None) -> list[str]:
    argv = [TAP, "--config", str(config), "--catalog", str(catalog)]
    if state is not None:
        argv += ["--state", str(state)]
    return argv


def clean_env() -> dict[str, str]:
    """The environment of every measured process: no proxies (loopback only), no tap
    settings from the caller, and a bytecode cache. Without one (PYTHONDONTWRITEBYTECODE
    is set on the dev machine, and the venvs hold no .pyc) every process compiles
    singer-sdk, Meltano or dbt from source at start-up - ~0.5 CPU-s more per tap start -
    which no installed deployment does. The cache lives in output/, never in the venvs."""
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and not k.startswith("TAP_PARTNERAPI")
           and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(ROOT / "output" / ".pycache")
    return env
