"""One test per fault of the vendor's contract: the sync still equals the sandbox's truth.

Each test turns on a single fault kind at a high rate (the sandbox lets the repeated
request through, as the vendor promises) and checks both the data and that the tap saw
and retried the fault - remove the handling and the data or the run breaks.
"""

from __future__ import annotations

import pytest

from tap_partnerapi.tap import TapPartnerAPI
from tests.support.tap_fixtures import CapturingWriter, by_key, run_tap, settle, tap_config

STREAMS = ["invoices", "refunds"]
ID_FIELD = {"events": "event_id"}


def _assert_equals_truth(sb, run, streams=STREAMS) -> None:
    for stream in streams:
        id_field = ID_FIELD.get(stream, "id")
        records = run.records(stream)
        keys = [(r[id_field], r["_pa_version"]) for r in records]
        assert len(keys) == len(set(keys)), f"{stream}: a version was emitted twice"
        got = {key[1]: rec["_pa_raw"] for key, rec in by_key(records, id_field).items()}
        assert got == sb.truth(stream), f"{stream} differs from the sandbox truth"


def _sync(sb, **config):
    return run_tap(tap_config(sb, page_size=100, **config), streams=STREAMS)


@pytest.mark.parametrize(("fault", "cause"), [
    ("timeout", "timeout"),          # the server hangs then closes without answering
    ("slow", "timeout"),             # answers after the client's timeout
    ("http_500", "http_5xx"),
    ("http_502", "http_5xx"),        # HTML body from a proxy
    ("http_503", "http_5xx"),
    ("http_504", "http_504"),        # computed, then a gateway timeout
    ("partial_page", "partial_page"),  # len(data) < count
    ("truncated_body", "truncated_body"),  # connection closed mid-JSON
    ("token_revoked", "invalid_token"),  # 401 invalid_token: renew once, repeat
])
def test_transient_fault_is_retried_on_the_same_cursor(sandbox, fault, cause):
    sb = sandbox(seed=5, faults={fault: 0.3})
    run = _sync(sb)
    _assert_equals_truth(sb, run)
    assert sb.counters()["faults"][fault] > 0
    retried = sum(run.tap.stats_for(s).retries[cause] for s in STREAMS)
    assert retried >= sb.counters()["faults"][fault]


def test_duplicate_pages_are_emitted_once(sandbox):
    sb = sandbox(seed=5, faults={"duplicate_page": 0.5})
    run = _sync(sb)
    _assert_equals_truth(sb, run)  # fails on a version emitted twice
    assert sb.counters()["faults"]["duplicate_page"] > 0
    assert sum(run.tap.stats_for(s).versions_repeated for s in STREAMS) > 0


def test_records_that_move_while_paging_are_not_lost(sandbox):
    sb = sandbox(seed=5, faults={"moved_record": 0.5})
    run = _sync(sb)
    _assert_equals_truth(sb, run)  # the moved record's new version is read too
    assert sb.counters()["faults"]["moved_record"] > 0


def test_rate_limit_burst_waits_exactly_retry_after(sandbox):
    """Every burst costs one 429: a retry before Retry-After would be rejected again."""
    sb = sandbox(seed=5, faults={"rate_limit_burst": 0.1}, max_retry_after_seconds=1.5)
    run = _sync(sb)
    _assert_equals_truth(sb, run)
    bursts = sb.counters()["faults"]["rate_limit_burst"]
    assert bursts > 0
    assert sb.counters()["rate_limited"] == bursts
    assert sum(run.tap.stats_for(s).http_429 for s in STREAMS) == bursts
    assert sum(run.tap.stats_for(s).rate_limit_wait_seconds for s in STREAMS) >= bursts * 1.0


def test_expired_cursor_restarts_the_window_from_its_last_safe_point(sandbox):
    sb = sandbox(seed=5)
    tap = TapPartnerAPI(config=tap_config(sb, page_size=500), message_writer=CapturingWriter())
    stream = tap.streams["events"]
    records = stream.get_records(None)
    seen = [next(records) for _ in range(500)]  # the first page
    settle(sb, 2)  # ...and the second, prefetched meanwhile
    sb.advance(hours=25)  # cursors live 24 h: the next page's cursor is refused
    seen += list(records)
    assert stream.stats.retries["invalid_cursor"] == 1
    got = {}
    for rec in seen:
        if rec["event_id"] not in got or rec["updated_at"] >= got[rec["event_id"]]["updated_at"]:
            got[rec["event_id"]] = rec
    assert {k: v["_pa_raw"] for k, v in got.items()} == sb.truth("events")


def test_heavy_faults_full_sync_equals_truth(sandbox):
    sb = sandbox(seed=7, faults="heavy", max_retry_after_seconds=1.0)
    run = run_tap(tap_config(sb, page_size=200))
    _assert_equals_truth(sb, run, ["customers", "plans", "subscriptions", "invoices",
                                   "invoice_items", "payments", "refunds", "events"])
    assert sum(sb.counters()["faults"].values()) > 10
