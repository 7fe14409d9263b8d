"""Progress while a stream syncs: a line at most every 10 s (records, pages, records/s, time
waited on the budget and on Retry-After), and a line whenever one wait exceeds 5 s."""

from __future__ import annotations

import datetime as dt
import re

from tap_partnerapi.progress import LONG_WAIT_SECONDS, PROGRESS_SECONDS
from tests.support.tap_fixtures import run_cli, tap_config

PROGRESS = re.compile(r"Progress plans: (\d+) records, (\d+) pages, (\d+) records/s, waited "
                      r"([\d.]+)s on the rate budget and ([\d.]+)s on Retry-After")


def _at(line: str) -> dt.datetime:
    return dt.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")


def test_paced_stream_reports_waits_and_progress(sandbox):
    # Every page is first refused with a 429 whose Retry-After is 6 s: three pages take
    # ~18 s, so exactly one progress line falls due (after the second page, at ~12 s).
    sb = sandbox(seed=2, faults={"rate_limit_burst": 1.0}, max_retry_after_seconds=5.2)
    run = run_cli(tap_config(sb, page_size=5), streams=["plans"], timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stderr.splitlines()
    waits = [line for line in lines if "Waiting" in line and "before the next plans" in line]
    assert len(waits) >= 3, run.stderr[-3000:]
    seconds = [float(re.search(r"Waiting ([\d.]+)s", w).group(1)) for w in waits]
    assert all(s > LONG_WAIT_SECONDS for s in seconds)
    assert all("Retry-After" in w for w in waits)
    progress = [line for line in lines if PROGRESS.search(line)]
    assert len(progress) == 1, "\n".join(lines[-40:])
    records, pages, rate, budget, retry_after = PROGRESS.search(progress[0]).groups()
    assert int(pages) == 2 and int(records) == 10 and int(rate) > 0
    assert float(retry_after) >= 2 * LONG_WAIT_SECONDS and float(budget) < 1
    started = next(_at(line) for line in lines if "Beginning" in line and "'plans'" in line)
    assert (_at(progress[0]) - started).total_seconds() >= PROGRESS_SECONDS
    assert run.summaries["plans"]["retry_after_wait_seconds"] >= 3 * LONG_WAIT_SECONDS
