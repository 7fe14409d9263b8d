"""Incremental syncs: bookmarks, the overlap window, crash-and-resume, backfill windows."""

from __future__ import annotations

import datetime as dt
import re

from tap_partnerapi.clock import format_ts, parse_ts
from tests.support.tap_fixtures import by_key, run_cli, run_tap, tap_config

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _bookmark(state: dict, stream: str) -> str:
    return state["bookmarks"][stream]["replication_key_value"]


def test_next_run_starts_overlap_hours_before_the_bookmark(sandbox):
    sb = sandbox(seed=3)
    first = run_tap(tap_config(sb), streams=["invoices", "payments"])
    for stream in ("invoices", "payments"):
        bookmark = _bookmark(first.state, stream)
        assert TS.match(bookmark), bookmark  # one format: string order is time order
        assert bookmark == max(r["updated_at"] for r in first.records(stream))
    sb.advance(minutes=10)
    second = run_tap(tap_config(sb, overlap_hours=2), state=first.state,
                     streams=["invoices", "coverage_ledger"])
    expected = format_ts(parse_ts(_bookmark(first.state, "invoices")) - dt.timedelta(hours=2))
    # The window a record was read in: its page's ledger row (named by _pa_request_id).
    window = {row["request_id"]: row["window_start"] for row in
              second.records("coverage_ledger") if row["stream"] == "invoices"}
    assert {window[r["_pa_request_id"]] for r in second.records("invoices")} == {expected}
    assert all(r["updated_at"] >= expected for r in second.records("invoices"))


def test_overlap_catches_a_record_visible_two_hours_late(sandbox):
    sb = sandbox(seed=3)
    first = run_tap(tap_config(sb), streams=["invoices"])
    late = sb.touch("invoices", lag_seconds=100 * 60)  # updated now, listed 100 min later
    sb.advance(minutes=60)  # other invoices change and are visible at once
    second = run_tap(tap_config(sb), state=first.state, streams=["invoices"])
    assert late["id"] not in {r["id"] for r in second.records("invoices")
                              if r["updated_at"] == late["updated_at"]}
    assert _bookmark(second.state, "invoices") > late["updated_at"]
    sb.advance(minutes=60)  # now the late version is visible
    caught = run_tap(tap_config(sb, overlap_hours=2), state=second.state,
                     streams=["invoices"])
    missed = run_tap(tap_config(sb, overlap_hours=0), state=second.state,
                     streams=["invoices"])
    assert (late["id"], late["updated_at"]) in {
        (r["id"], r["updated_at"]) for r in caught.records("invoices")}
    assert (late["id"], late["updated_at"]) not in {
        (r["id"], r["updated_at"]) for r in missed.records("invoices")}


def test_killed_run_resumes_from_its_last_state_without_a_gap(sandbox):
    sb = sandbox(seed=3)
    config = tap_config(sb, page_size=200)
    killed = run_cli(config, streams=["events"], kill_after_records=1500)
    assert killed.returncode != 0
    state = killed.state
    bookmark = _bookmark(state, "events")
    assert bookmark < max(r["updated_at"] for r in sb.truth("events").values())
    resumed = run_cli(config, state=state, streams=["events"])
    assert resumed.returncode == 0
    resumed_records = resumed.records("events")
    # Resumed, not restarted: it reads from the bookmark minus the overlap only.
    assert min(r["updated_at"] for r in resumed_records) >= format_ts(
        parse_ts(bookmark) - dt.timedelta(hours=2))
    union = by_key(killed.records("events") + resumed_records, "event_id")
    assert {k[1]: v["_pa_raw"] for k, v in union.items()} == sb.truth("events")


def test_backfill_window_has_its_own_partitioned_state(sandbox):
    sb = sandbox(seed=3)
    now = parse_ts(sb.clock()["now"]).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = format_ts(now - dt.timedelta(days=30)), format_ts(now - dt.timedelta(days=27))
    config = tap_config(sb, start_date=start, end_date=end)
    backfill = run_tap(config, streams=["payments"])
    records = backfill.records("payments")
    assert records and all(start <= r["updated_at"] < end for r in records)
    expected = {i: r for i, r in sb.truth("payments").items() if start <= r["updated_at"] < end}
    assert {r["id"] for r in records} == set(expected)
    partitions = backfill.state["bookmarks"]["payments"]["partitions"]
    assert len(partitions) == 3
    assert all(p["replication_key_value"] == p["context"]["_pa_window_end"]
               for p in partitions)
    # Re-running with the same state reads nothing: every partition is complete.
    again = run_tap(config, state=backfill.state, streams=["payments"])
    assert again.records("payments") == []
    assert again.tap.stats_for("payments").pages == 0
    # Editing the state (dropping one day's partition) re-runs exactly that day.
    edited = {"bookmarks": {"payments": {"partitions": partitions[1:]}}}
    rerun = run_tap(config, state=edited, streams=["payments"])
    day_end = partitions[0]["context"]["_pa_window_end"]
    assert {r["id"] for r in rerun.records("payments")} == {
        i for i, r in expected.items() if r["updated_at"] < day_end}
