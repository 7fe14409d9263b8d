"""A resource the vendor refuses (403) ends only its own stream: the other streams finish and
save their state, and the run fails at its end naming the stream and the request id."""

from __future__ import annotations

import re

from tap_partnerapi.schema import ID_FIELDS
from tap_partnerapi.tap import STREAM_FAILED_EXIT_CODE
from tests.support.tap_fixtures import run_cli, tap_config

RESOURCES = list(ID_FIELDS)


def test_forbidden_resource_lets_the_other_seven_finish_with_their_state(sandbox):
    sb = sandbox(seed=2, forbidden=["payments"])
    run = run_cli(tap_config(sb), streams=[*RESOURCES, "coverage_ledger"])
    assert run.returncode == STREAM_FAILED_EXIT_CODE, run.stderr[-3000:]
    assert run.records("payments") == []
    bookmarks = run.state["bookmarks"]
    for resource in RESOURCES:
        if resource == "payments":
            continue
        ids = {r[ID_FIELDS[resource]] for r in run.records(resource)}
        assert ids == set(sb.truth(resource)), resource
        assert bookmarks[resource]["replication_key_value"], resource
    assert "replication_key_value" not in bookmarks.get("payments", {})
    # The end of the run names the failed stream and the vendor's request id, once, plainly.
    final = [line for line in run.stderr.splitlines() if "stream(s) failed" in line]
    assert len(final) == 1 and "payments" in final[0]
    named = [line for line in run.stderr.splitlines() if "Stream payments failed" in line]
    assert named and re.search(r"HTTP 403 forbidden.*request_id=req_\w+", named[-1])
    assert "Traceback" not in run.stderr
    summaries = run.summaries
    assert summaries["payments"]["status"] == "failed"
    assert "request_id=req_" in summaries["payments"]["error"]
    assert summaries["refunds"]["status"] == "ok"


def test_a_run_wide_error_still_stops_the_run(sandbox):
    """Wrong credentials are not scoped to a resource: nothing else is attempted."""
    sb = sandbox(seed=2)
    run = run_cli(tap_config(sb, client_secret="wrong"), streams=RESOURCES)
    assert run.returncode == 1
    assert sb.counters()["token_requests"] == 1
    assert not [m for m in run.messages if m["type"] == "RECORD"]
