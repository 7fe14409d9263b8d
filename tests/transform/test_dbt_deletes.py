"""Hard deletes from id snapshots: flagged only from complete snapshots, never en masse.

A snapshot the guard holds back is a warning with the ids to check, never a failed build
(tests/transform/test_dbt_delete_guard.py has the guard's rule: a share AND an absolute floor)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.support.dbt_fixtures import (
    Warehouse,
    copy_warehouse,
    dbt,
    load,
    query,
    snapshot_batch,
)

GUARD_TEST = "accepted_values_delete_guard_guard_status"
# Everything a new snapshot can change: the evaluation, the guard and the deletable marts.
AFFECTED = ("--select", "int_snapshot_missing+")


def flagged(wh: Warehouse, table: str) -> list[tuple]:
    return query(wh.path, f"select id, deleted_detected_at from analytics.{table} "
                          "where is_deleted order by id")


def guard(wh: Warehouse) -> dict[str, str]:
    return dict(query(wh.path, "select resource, guard_status from monitoring.delete_guard "
                               "where environment = 'sandbox'"))


def test_complete_snapshot_flags_the_missing_ids(base: Warehouse, tmp_path: Path) -> None:
    wh = copy_warehouse(base, tmp_path)
    started = wh.now + timedelta(hours=1)
    load(wh.path, snapshot_batch(wh.batches, started, "snap_1",
                                 drop={"customers": ["cus_10_0"], "invoice_items": ["ii_9_1"]}))
    result = dbt(wh.path, "build", *AFFECTED)
    assert result.returncode == 0, result.output[-3000:]
    detected = (started + timedelta(minutes=5)).replace(tzinfo=None)
    assert flagged(wh, "customers") == [("cus_10_0", detected)]
    assert flagged(wh, "invoice_items") == [("ii_9_1", detected)]
    assert flagged(wh, "plans") == []
    assert guard(wh) == {"customers": "applied", "plans": "applied", "invoice_items": "applied"}
    # Production's cus_10_0 does not exist; the same id elsewhere is never touched.
    assert query(wh.path, "select count(*) from analytics.customers where is_deleted "
                          "and environment = 'production'") == [(0,)]


def test_incomplete_snapshot_flags_nothing_and_warns(base: Warehouse, tmp_path: Path) -> None:
    wh = copy_warehouse(base, tmp_path)
    load(wh.path, snapshot_batch(wh.batches, wh.now + timedelta(hours=1), "snap_cut",
                                 drop={"customers": ["cus_10_0", "cus_11_0"]}, complete=False))
    result = dbt(wh.path, "build", *AFFECTED)
    assert result.returncode == 0, result.output[-3000:]
    assert result.status(GUARD_TEST) == ["warn"]
    assert flagged(wh, "customers") == []
    assert guard(wh)["customers"] == "incomplete_snapshot"


def test_mass_delete_is_held_back_and_earlier_flags_stay(
    base: Warehouse, tmp_path: Path
) -> None:
    wh = copy_warehouse(base, tmp_path)
    first = wh.now + timedelta(hours=1)
    load(wh.path, snapshot_batch(wh.batches, first, "snap_1", drop={"customers": ["cus_10_0"]}))
    assert dbt(wh.path, "build", *AFFECTED).returncode == 0
    # 12 of ~120 customers gone at once (10 %) looks like a truncated listing, not deletes.
    mass = ["cus_10_0"] + [f"cus_{d}_1" for d in range(1, 12)]
    load(wh.path, snapshot_batch(wh.batches, first + timedelta(hours=1), "snap_mass",
                                 drop={"customers": mass}))
    result = dbt(wh.path, "build", *AFFECTED)
    assert result.returncode == 0, result.output[-3000:]
    assert result.status(GUARD_TEST) == ["warn"]
    assert guard(wh)["customers"] == "mass_delete_held_back"
    assert [r[0] for r in flagged(wh, "customers")] == ["cus_10_0"]
    assert flagged(wh, "customers")[0][1] == (first + timedelta(minutes=5)).replace(tzinfo=None)


def test_delete_share_is_configurable(base: Warehouse, tmp_path: Path) -> None:
    wh = copy_warehouse(base, tmp_path)
    mass = [f"cus_{d}_1" for d in range(1, 12)]
    load(wh.path, snapshot_batch(wh.batches, wh.now + timedelta(hours=1), "snap_mass",
                                 drop={"customers": mass}))
    result = dbt(wh.path, "build", *AFFECTED, "--vars", "{max_delete_share: 0.2}")
    assert result.returncode == 0, result.output[-3000:]
    assert [r[0] for r in flagged(wh, "customers")] == sorted(mass)
