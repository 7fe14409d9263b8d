"""Pacing: the tap against a sandbox whose rate limit equals the tap's budget.

The budget is scaled down (120/min) so that a run needs only tiny pages and a couple of
minutes; the vendor's windows are one minute long, so the figure is taken over whole
minutes from the first request: achieved requests / (budget x minutes). Faults are off, so
every 429 the sandbox counts was caused by the tap itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.common import bench_sandbox, clean_env, tap_argv, tap_catalog, tap_config

POLL_SECONDS = 0.1


def measure(workdir: Path, budget: int = 120, minutes: int = 2) -> dict[str, Any]:
    with bench_sandbox(workdir / "pacing.sandbox.log", scale="small",
                       rate_limit_per_minute=budget) as sb:
        # 5-record pages: ~580 pages of events, more than the run can spend.
        config = tap_config(workdir, sb.url, "pacing", page_size=5,
                            requests_per_minute=budget)
        catalog = tap_catalog(workdir, config, {"events"})
        base = sb.counters()
        with (workdir / "pacing.log").open("wb") as err:
            proc = subprocess.Popen(tap_argv(config, catalog), stdout=subprocess.DEVNULL,
                                    stderr=err, stdin=subprocess.DEVNULL, env=clean_env(),
                                    start_new_session=True)
            try:
                t0 = None
                timeline: list[tuple[float, int, int]] = []
                deadline = time.monotonic() + 60 * minutes + 30
                while time.monotonic() < deadline and proc.poll() is None:
                    c = sb.counters()
                    now = time.monotonic()
                    sent = c["requests"] - base["requests"]
                    if t0 is None and sent > 0:
                        t0 = now
                        deadline = t0 + 60 * minutes
                    timeline.append((now, sent, c["rate_limited"] - base["rate_limited"]))
                    time.sleep(POLL_SECONDS)
                finished_early = proc.poll() is not None
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=30)
        final = sb.counters()
    if t0 is None:
        raise RuntimeError(f"the tap sent no request; see {workdir}/pacing.log")
    _, sent, limited = timeline[-1]
    return {
        "budget_per_minute": budget, "minutes": minutes,
        "requests": sent, "token_requests": final["token_requests"] - base["token_requests"],
        "share_of_budget": sent / (budget * minutes),
        "http_429": limited, "finished_early": finished_early,
        # Requests in the first window alone: a burst is allowed, an overrun is not.
        "first_minute": max(s for t, s, _ in timeline if t < t0 + 60),
    }
