"""payment_transactions follows event_version order per event type, even when versions
skip numbers and arrive out of order."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.dbt_fixtures import (
    Batch,
    Warehouse,
    base_warehouse,
    copy_warehouse,
    dbt,
    event,
    load,
    query,
)

TXN = "txn_life"


def dispute(status: str) -> dict:
    return {"amount": 5000, "currency": "eur", "dispute": {"status": status, "reason": "fraud"}}


def state(wh: Warehouse) -> tuple:
    rows = query(wh.path, "select lifecycle_state, dispute_status, captured_version, "
                          "dispute_updated_version, captured_amount, currency "
                          f"from analytics.payment_transactions where transaction_id = '{TXN}'")
    assert len(rows) == 1
    return rows[0]


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    base = base_warehouse(tmp_path_factory.getbasetemp())
    wh = copy_warehouse(base, tmp_path_factory.mktemp("lifecycle"))
    t0, run = wh.now - timedelta(hours=6), Batch(run_id="run_life_1")
    pay = {"amount": 5000, "currency": "eur"}
    run.add("events", event("evt_l1", TXN, "AUTHORIZED", 1, t0, pay), wh.now)
    run.add("events", event("evt_l2", TXN, "CAPTURED", 2, t0 + timedelta(minutes=1), pay),
            wh.now)
    run.add("events", event("evt_l3", TXN, "CHARGEBACK_OPENED", 1, t0 + timedelta(hours=1),
                            dispute("needs_response")), wh.now)
    # Version 7 was written before version 3 by the clock: order must come from the version.
    run.add("events", event("evt_l7", TXN, "DISPUTE_UPDATED", 7, t0 + timedelta(hours=2),
                            dispute("under_review")), wh.now)
    run.add("events", event("evt_l4", TXN, "DISPUTE_UPDATED", 3, t0 + timedelta(hours=3),
                            dispute("needs_response")), wh.now)
    load(wh.path, run)
    result = dbt(wh.path, "build", "--select", "stg_events_versions+")
    assert result.returncode == 0, result.output[-3000:]
    return wh


def test_state_follows_highest_version_per_type(first: Warehouse) -> None:
    assert state(first) == ("disputed", "under_review", 2, 7, 5000, "eur")


def test_late_lower_version_and_skipped_outcome_version(first: Warehouse,
                                                        tmp_path: Path) -> None:
    wh = copy_warehouse(first, tmp_path)
    t1, run = wh.now, Batch(run_id="run_life_2")
    later = wh.now + timedelta(minutes=10)
    # A late version 5 (lower than 7) must not win; CHARGEBACK_WON arrives as version 4.
    run.add("events", event("evt_l5", TXN, "DISPUTE_UPDATED", 5, t1, dispute("lost")), later)
    run.add("events", event("evt_l9", TXN, "CHARGEBACK_WON", 4, t1, dispute("won")), later)
    load(wh.path, run)
    assert dbt(wh.path, "build", "--select", "stg_events_versions+").returncode == 0
    assert state(wh) == ("chargeback_won", "under_review", 2, 7, 5000, "eur")
    # Version 7 updated in place (same event_id, newer updated_at): the new payload counts.
    run = Batch(run_id="run_life_3")
    run.add("events", event("evt_l7", TXN, "DISPUTE_UPDATED", 7, t1 - timedelta(hours=4),
                            dispute("won"), updated=t1 + timedelta(minutes=1)),
            later + timedelta(minutes=5))
    load(wh.path, run)
    assert dbt(wh.path, "build", "--select", "stg_events_versions+").returncode == 0
    assert state(wh) == ("chargeback_won", "won", 2, 7, 5000, "eur")
    assert query(wh.path, "select count(*) from analytics.payment_events_history "
                          "where event_id = 'evt_l7'") == [(2,)]
    assert query(wh.path, "select count(*) from analytics.payment_events "
                          "where event_id = 'evt_l7'") == [(1,)]
