"""The coverage ledger proves that no updated_at interval was skipped, faults or not."""

from __future__ import annotations

from tap_partnerapi.ledger import find_gaps
from tests.support.tap_fixtures import run_tap, tap_config

STREAMS = ["invoices", "events", "coverage_ledger"]


def test_ledger_of_a_faulty_run_covers_the_window_without_gap(sandbox):
    sb = sandbox(seed=6, faults="heavy", max_retry_after_seconds=1.0)
    config = tap_config(sb, page_size=150, start_date="2026-01-01T00:00:00Z")
    first = run_tap(config, streams=STREAMS)
    sb.advance(hours=1)
    second = run_tap(config, state=first.state, streams=STREAMS)
    rows = first.records("coverage_ledger") + second.records("coverage_ledger")
    assert {r["stream"] for r in rows} == {"invoices", "events"}
    assert find_gaps(rows) == []
    for stream in ("invoices", "events"):
        mine = [r for r in rows if r["stream"] == stream]
        assert sum(r["records"] for r in mine) >= len(sb.truth(stream))
        assert min(r["covered_from"] for r in mine) == "2026-01-01T00:00:00.000000Z"
        # ...up to the vendor's clock at the last page of the latest run.
        assert max(r["covered_to"] for r in mine) >= sb.clock()["now"][:19]
        assert all(r["request_id"].startswith("req_") for r in mine)
        # Pages are rows of the ledger only once complete: one per page read.
        assert len(mine) == first.tap.stats_for(stream).pages + \
            second.tap.stats_for(stream).pages


def test_a_missing_ledger_row_is_detected_as_a_gap(sandbox):
    sb = sandbox(seed=6)
    run = run_tap(tap_config(sb, page_size=150), streams=STREAMS)
    rows = [r for r in run.records("coverage_ledger") if r["stream"] == "events"]
    assert len(rows) > 3 and find_gaps(rows) == []
    hole = rows[2]
    gaps = find_gaps(rows[:2] + rows[3:])
    assert gaps == [("sandbox", "events", hole["covered_from"], hole["covered_to"])]
