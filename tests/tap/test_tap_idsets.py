"""Id snapshots of deletable resources: complete listings are marked, interrupted ones never."""

from __future__ import annotations

from tests.support.tap_fixtures import run_cli, run_tap, tap_config

ID_STREAMS = ["id_snapshots", "id_snapshot_runs"]


def test_complete_snapshot_lists_every_live_id_then_marks_completion(sandbox):
    sb = sandbox(seed=9, faults={"moved_record": 0.3, "duplicate_page": 0.3})
    sb.advance(days=2)  # some customers, plans and draft lines get hard-deleted
    run = run_tap(tap_config(sb, page_size=100), streams=ID_STREAMS)
    runs = {r["resource"]: r for r in run.records("id_snapshot_runs")}
    assert set(runs) == {"customers", "plans", "invoice_items"}
    for resource, marker in runs.items():
        ids = {r["id"] for r in run.records("id_snapshots")
               if r["snapshot_id"] == marker["snapshot_id"]}
        assert ids == set(sb.truth(resource))
        assert marker["id_count"] == len(ids) and marker["status"] == "complete"
        assert not ids & sb.deleted_ids(resource)
    assert any(sb.deleted_ids(r) for r in runs)
    # The completion marker is written after the last id of its snapshot.
    order = [(m["stream"], m["record"].get("snapshot_id")) for m in run.messages
             if m["type"] == "RECORD"]
    for marker in runs.values():
        key = marker["snapshot_id"]
        assert order.index(("id_snapshot_runs", key)) > max(
            i for i, item in enumerate(order) if item == ("id_snapshots", key))
    # Cheap listing: id and updated_at only, 5,000 per page whatever page_size says.
    assert run.tap.stats_for("id_snapshots").pages == 3


def test_interrupted_listing_never_gets_a_completion_marker(sandbox):
    sb = sandbox(seed=9)
    killed = run_cli(tap_config(sb), streams=ID_STREAMS, kill_after_records=350)
    snapshot_ids = {r["snapshot_id"] for r in killed.records("id_snapshots")}
    completed = {r["snapshot_id"] for r in killed.records("id_snapshot_runs")}
    interrupted = snapshot_ids - completed
    assert len(interrupted) == 1  # the listing that was running when the tap died


def test_failed_listing_never_gets_a_completion_marker(sandbox):
    sb = sandbox(seed=9, faults={"http_503": 1.0})
    run = run_cli(tap_config(sb, max_retries=0), streams=ID_STREAMS)  # no retry allowed
    assert run.returncode != 0
    assert run.records("id_snapshot_runs") == []
    assert "id_snapshots" in run.summaries and run.summaries["id_snapshots"]["status"] == \
        "failed"
