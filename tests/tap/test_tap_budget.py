"""Sharing the client's budget: a low-priority backfill uses the idle budget and yields.

Against a sandbox limited to R requests per window (the window shrunk from the vendor's
minute to W seconds: the same rules with less waiting), the real tap executable:
- a backfill (``rate_limit_priority: low``) alone uses >= 90 % of R per window;
- an incremental run (normal priority) started beside it finishes within 1.5x its time
  alone (measured against an identical sandbox of its own, at the same time);
- no 429 at all: faults are off, so any 429 would be self-caused.
The incremental needs a little over three windows of budget alone; see docs/tap.md
("Sharing the budget") for why a run that needs less than a window is not covered by 1.5x.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tap_partnerapi.pacing import RateLimiter
from tests.support.tap_fixtures import TAP_BIN, select, tap_config

R = 50  # requests per window
W = 10.0  # window seconds
SOLO_WINDOWS = 2  # windows over which the lone backfill's usage is measured


def _start(tmp: Path, name: str, config: dict, stream: str) -> subprocess.Popen:
    (tmp / f"{name}.config.json").write_text(json.dumps(config))
    (tmp / f"{name}.catalog.json").write_text(json.dumps(select([stream])))
    err = (tmp / f"{name}.log").open("w")
    return subprocess.Popen(
        [TAP_BIN, "--config", str(tmp / f"{name}.config.json"),
         "--catalog", str(tmp / f"{name}.catalog.json")],
        stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)


def _incremental_config(sb, tmp: Path, name: str) -> dict:
    # Five invoices a page: ~180 pages, a little over three windows of R alone.
    return tap_config(sb, page_size=5, requests_per_minute=1000, request_timeout=5,
                      summary_path=str(tmp / f"{name}.summary.jsonl"))


def test_lone_backfill_uses_the_budget_and_yields_to_an_incremental(sandbox, tmp_path):
    limits = {"rate_limit_per_minute": R, "rate_limit_window_seconds": W, "seed": 5}
    shared, alone = sandbox(**limits), sandbox(**limits)
    backfill = _start(tmp_path, "backfill", tap_config(
        shared, page_size=5, requests_per_minute=1000, request_timeout=5,
        rate_limit_priority="low", summary_path=str(tmp_path / "b.summary.jsonl")), "events")
    started = time.monotonic()
    solo = _start(tmp_path, "solo", _incremental_config(alone, tmp_path, "solo"), "invoices")
    try:
        # The backfill alone: requests per window over whole windows from its first one.
        t0 = None
        while True:
            now, sent = time.monotonic(), shared.counters()["requests"]
            if t0 is None and sent:
                t0, first = now, sent
            if t0 is not None and now >= t0 + SOLO_WINDOWS * W:
                break
            assert backfill.poll() is None, (tmp_path / "backfill.log").read_text()[-3000:]
            time.sleep(0.05)
        used_alone = (sent - first + 1) / (SOLO_WINDOWS * R)

        assert solo.wait(timeout=120) == 0, (tmp_path / "solo.log").read_text()[-3000:]
        solo_seconds = time.monotonic() - started

        beside_start = time.monotonic()
        beside = _start(tmp_path, "beside", _incremental_config(shared, tmp_path, "beside"),
                        "invoices")
        assert beside.wait(timeout=180) == 0, (tmp_path / "beside.log").read_text()[-3000:]
        beside_seconds = time.monotonic() - beside_start
        assert backfill.poll() is None, "the backfill must still be running beside it"
    finally:
        for proc in (backfill, solo):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)

    figures = (f"backfill alone used {used_alone:.0%} of R; incremental {solo_seconds:.1f}s "
               f"alone, {beside_seconds:.1f}s beside it")
    print(figures)
    assert used_alone >= 0.90, figures
    assert beside_seconds <= 1.5 * solo_seconds, figures
    assert shared.counters()["rate_limited"] == 0 and alone.counters()["rate_limited"] == 0
    # Both incremental runs read every invoice.
    lines = [json.loads(x) for x in (tmp_path / "beside.summary.jsonl").read_text().splitlines()]
    assert [x["records"] for x in lines if x["stream"] == "invoices"] == [
        len(shared.truth("invoices"))]
    assert "yielding" in (tmp_path / "backfill.log").read_text()


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _headers(limit: int, remaining: int, until_reset: int) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(1_000 + until_reset)}


def test_low_priority_spreads_the_window_less_its_reserve_and_yields_to_others():
    clock = _Clock()
    limiter = RateLimiter(1000, priority="low", reserve=0.05, yield_reserve=0.6,
                          sleep=clock.sleep, monotonic=lambda: clock.now)
    # Alone (every request counted by the vendor is ours): 949 spendable over 59 s.
    limiter.acquire()
    limiter.observe(_headers(1000, 999, 60), server_epoch=1_000)
    assert limiter.acquire() == pytest.approx(59 / 949)
    assert not limiter.yielding
    # 300 requests in the window that are not ours: another process of the client id.
    limiter.observe(_headers(1000, 698, 50), server_epoch=1_000)
    assert limiter.yielding
    # 698 left, 600 of them kept for the others: 98 spread over the window's 49 s.
    assert limiter.acquire() == pytest.approx(49 / 98)
    # Below the yield reserve: nothing until the refill (half a second early at most).
    limiter.observe(_headers(1000, 550, 20), server_epoch=1_000)
    assert limiter.acquire() == pytest.approx(19.5)
    # A window nearly emptied by others: only its refill is safe.
    limiter.observe(_headers(1000, 2, 10), server_epoch=1_000)
    assert limiter.acquire() == pytest.approx(10)
    # A minute without others: back to the whole budget.
    clock.now += 61
    limiter.observe(_headers(1000, 999, 60), server_epoch=1_000)  # a new window, ours
    assert not limiter.yielding


def test_normal_priority_is_unchanged_by_the_shared_window_until_its_low_watermark():
    clock = _Clock()
    limiter = RateLimiter(1000, sleep=clock.sleep, monotonic=lambda: clock.now)
    limiter.observe(_headers(1000, 300, 60), server_epoch=1_000)
    assert limiter.acquire() == 0
    limiter.observe(_headers(1000, 50, 50), server_epoch=1_000)
    assert limiter.acquire() == pytest.approx(1.0)
