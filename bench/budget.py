"""Budget sharing: a low-priority backfill alone, then an incremental run beside it.

Two identical small sandboxes limited to R requests per W-second window (the vendor's
minute shrunk so that several windows pass in a bench; the tap paces on the vendor's
headers, not on the window's length). On the first, a backfill (``rate_limit_priority:
low``) runs alone for ``windows`` windows - its share of R is counted by the sandbox from
its first request - and then an incremental run (normal priority) starts beside it. On the
second, the same incremental runs alone at the same time as the backfill's solo phase: the
reference. Faults are off: every 429 the sandboxes count is self-caused.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.common import (
    CLIENT_ID,
    CLIENT_SECRET,
    bench_sandbox,
    clean_env,
    tap_argv,
    tap_catalog,
    tap_config,
)

POLL_SECONDS = 0.05


def _start(workdir: Path, url: str, name: str, stream: str, **settings: Any) -> subprocess.Popen:
    config = tap_config(workdir, url, name, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                        request_timeout=10, **settings)
    catalog = tap_catalog(workdir, config, {stream})
    with (workdir / f"{name}.log").open("wb") as err:
        return subprocess.Popen(tap_argv(config, catalog), stdout=subprocess.DEVNULL,
                                stderr=err, stdin=subprocess.DEVNULL, env=clean_env(),
                                start_new_session=True)


def measure(workdir: Path, limit: int = 100, window: float = 20.0, windows: int = 3,
            page_size: int = 3) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    kwargs = {"scale": "small", "seed": 5, "rate_limit_per_minute": limit,
              "rate_limit_window_seconds": window}
    with bench_sandbox(workdir / "budget.shared.log", **kwargs) as shared, \
            bench_sandbox(workdir / "budget.alone.log", **kwargs) as alone:
        shared.wait_ready()
        alone.wait_ready()
        backfill = _start(workdir, shared.url, "budget.backfill", "events",
                          page_size=page_size, rate_limit_priority="low")
        started = time.monotonic()
        solo = _start(workdir, alone.url, "budget.solo", "invoices", page_size=page_size)
        try:
            t0 = first = sent = None
            while True:
                now, sent = time.monotonic(), shared.counters()["requests"]
                if t0 is None and sent:
                    t0, first = now, sent
                if t0 is not None and now >= t0 + windows * window:
                    break
                if backfill.poll() is not None:
                    raise RuntimeError(f"the backfill ended early; see {workdir}")
                time.sleep(POLL_SECONDS)
            if solo.wait(timeout=20 * window) != 0:
                raise RuntimeError(f"the solo incremental failed; see {workdir}")
            solo_seconds = time.monotonic() - started
            beside_started = time.monotonic()
            beside = _start(workdir, shared.url, "budget.beside", "invoices",
                            page_size=page_size)
            if beside.wait(timeout=20 * window) != 0:
                raise RuntimeError(f"the incremental beside the backfill failed; see {workdir}")
            beside_seconds = time.monotonic() - beside_started
            still_running = backfill.poll() is None
        finally:
            for proc in (backfill, solo):
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=30)
        limited = shared.counters()["rate_limited"] + alone.counters()["rate_limited"]
    assert first is not None and sent is not None
    return {
        "limit": limit, "window_seconds": window, "windows": windows,
        "share_alone": (sent - first + 1) / (windows * limit),
        "incremental_alone_seconds": solo_seconds,
        "incremental_beside_seconds": beside_seconds,
        "ratio_beside_alone": beside_seconds / solo_seconds,
        "backfill_outlasted": still_running, "http_429": limited,
    }
