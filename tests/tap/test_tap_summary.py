"""The run summary: one PARTNERAPI_SUMMARY JSON line per stream, in the log and a file."""

from __future__ import annotations

import json

from tests.support.tap_fixtures import run_cli, tap_config

KEYS = {"run_id", "environment", "stream", "records", "versions_new", "versions_repeated",
        "pages", "retries", "http_429", "rate_limit_wait_seconds", "quarantined",
        "new_fields", "duration_seconds", "started_at", "finished_at", "status",
        "retry_after_wait_seconds", "error"}


def test_summary_lines_in_log_and_file_with_metrics(sandbox, tmp_path):
    sb = sandbox(seed=12, faults={"http_500": 0.2, "partial_page": 0.2,
                                  "rate_limit_burst": 0.05}, max_retry_after_seconds=1.0)
    path = tmp_path / "summary.jsonl"
    run = run_cli(tap_config(sb, page_size=100, summary_path=str(path), run_id="sum-1"),
                  streams=["invoices", "refunds", "coverage_ledger"])
    assert run.returncode == 0, run.stderr[-2000:]
    logged = run.summaries
    written = {line["stream"]: line for line in map(json.loads, path.read_text().splitlines())}
    assert logged == written
    assert {"invoices", "refunds"} <= set(written)
    invoices = written["invoices"]
    assert set(invoices) == KEYS
    assert invoices["run_id"] == "sum-1" and invoices["status"] == "ok"
    assert invoices["records"] == invoices["versions_new"] == len(sb.truth("invoices"))
    assert invoices["pages"] == 9
    faults = sb.counters()["faults"]
    assert sum(s["retries"]["http_5xx"] for s in written.values()) == faults["http_500"]
    assert sum(s["retries"]["partial_page"] for s in written.values()) == \
        faults["partial_page"]
    assert sum(s["http_429"] for s in written.values()) == faults["rate_limit_burst"]
    # The SDK's METRIC messages stay on, and the human line names the retries.
    assert '"metric": "record_count"' in run.stderr or "record_count" in run.stderr
    assert "Stream invoices:" in run.stderr
