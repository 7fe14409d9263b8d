"""Settlement drops with every fault of the contract's batch-export section, in each of the
four formats, on a real S3 API (moto's server on loopback) and in a folder.

The tap alone, per format and store: run 1 reads only complete, intact drops, quarantines the
truncated file (none of its drop is emitted), run 2 reads exactly what is new. Then the four
formats together (four sandboxes, one per format, one warehouse) through the real loader and
dbt: settlement_lines equals the sandboxes' truth with no line twice, and
payment_reconciliation finds the counts the sandboxes expect."""

from __future__ import annotations

import typing as t
from collections.abc import Iterator
from pathlib import Path

import pytest

from partnerapi_sandbox import Sandbox
from partnerapi_sandbox.settlements import FORMATS
from tests.pipeline.settlement_fixtures import (
    build,
    load_messages,
    moto_env,
    reconciliation_counts,
    truth_lines,
    warehouse_lines,
)
from tests.support.dbt_fixtures import dbt, ensure_installed, query
from tests.support.tap_fixtures import run_tap, tap_config

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto.server")
pytest.importorskip("pyarrow")

BUCKET = "vendor-settlements"
URI = f"s3://{BUCKET}/partner/exports"
STREAMS = ["payments", "settlements", "quarantine"]
START = "2026-11-20T09:00:00Z"  # one clock for the four sandboxes: one as-of for dbt


@pytest.fixture(scope="module")
def s3_env() -> Iterator[dict[str, str]]:
    yield from moto_env()


@pytest.fixture
def s3(s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[t.Any]:
    for key, value in s3_env.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    # Versioned, as a vendor drop bucket should be: lineage then names the exact version.
    client.put_bucket_versioning(Bucket=BUCKET,
                                 VersioningConfiguration={"Status": "Enabled"})
    yield client
    for page in client.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"], VersionId=item["VersionId"])
    client.delete_bucket(Bucket=BUCKET)


def _two_runs(sb: Sandbox, location: str, fmt: str,
              streams: list[str]) -> tuple[t.Any, t.Any, dict[str, str]]:
    """Phase 1 written, tap run 1, phase 2 written, tap run 2 from run 1's state; checks
    what each run read and quarantined."""
    exports = sb.settlements()
    scenario = exports.describe()
    faults = {fault: payout for payout, fault in scenario["fault_payouts"].items()}
    assert {"disagreeing", "correction", "in_progress", "redelivery", "late"} <= set(faults)
    config = tap_config(sb, settlements_location=location)

    exports.write(location, fmt, "initial")
    run1 = run_tap(config, streams=streams)
    read1 = {(r["payout_id"], r["seq"]) for r in run1.records("settlements")}
    # Not read: the payout whose upload is in progress, the late ones, the bad drop.
    held = {p for p, f in scenario["fault_payouts"].items()
            if f in ("in_progress", "late", "disagreeing")}
    assert read1 and not {p for p, _ in read1} & held
    quarantined = [q for q in run1.records("quarantine") if q["stream"] == "settlements"]
    assert len(quarantined) == 1 and run1.tap.quarantined_total == 1
    bad = quarantined[0]
    assert "sandbox/settlements/dt=" in bad["record_id"]
    assert f"/{faults['disagreeing']}/000001/part-00000.{fmt}" in bad["record_id"]
    assert "manifest says" in bad["reason"]

    exports.write(location, fmt, "final")
    run2 = run_tap(config, state=run1.state, streams=streams)
    read2 = {(r["payout_id"], r["seq"]) for r in run2.records("settlements")}
    # Each drop read once: run 2 reads exactly what is new (not the re-delivered drop).
    late = {(p, 1) for p, f in scenario["fault_payouts"].items() if f == "late"}
    assert len(late) == 2
    assert read2 == late | {(faults["in_progress"], 1), (faults["correction"], 2),
                            (faults["disagreeing"], 2)}
    assert run2.tap.quarantined_total == 0
    # Latest seq per payout, keyed as the loader upserts: the sandbox's truth exactly.
    rows = {(r["payout_id"], r["seq"], r["line_id"]): r
            for run in (run1, run2) for r in run.records("settlements")}
    top: dict[str, int] = {}
    for payout, seq, _ in rows:
        top[payout] = max(top.get(payout, 0), seq)
    current = sorted((r["payout_id"], r["line_id"], r["transaction_id"], r["payment_id"],
                      r["type"], r["gross"], r["fee"], r["net"], r["description"])
                     for (p, seq, _), r in rows.items() if seq == top[p])
    assert current == sorted((x["payout_id"], x["line_id"], x["transaction_id"],
                              x["payment_id"], x["type"], x["gross"], x["fee"], x["net"],
                              x["description"]) for x in exports.truth())
    return run1, run2, faults


@pytest.mark.parametrize("fmt", FORMATS)
def test_tap_reads_every_fault_right_on_s3(fmt: str, s3: t.Any,
                                           sandbox: t.Callable[..., Sandbox]) -> None:
    sb = sandbox(seed=5, scale="small", faults="off", environment="sandbox")
    run1, _, _ = _two_runs(sb, URI, fmt, ["settlements", "quarantine"])
    # Lineage: the exact object version and row of every line.
    line = run1.records("settlements")[0]
    assert line["source_bucket"] == BUCKET and line["source_version_id"]
    assert line["source_etag"] and line["manifest_key"].startswith("partner/exports/")
    assert line["source_key"].endswith(f".{fmt}") and line["source_row"] == 1
    assert line["environment"] == "sandbox" and line["manifest_id"].startswith("stm_")
    bad = run1.records("quarantine")[0]
    assert bad["_pa_raw"]["bucket"] == BUCKET


@pytest.mark.parametrize("fmt", FORMATS)
def test_tap_reads_every_fault_right_in_a_folder(fmt: str, sandbox: t.Callable[..., Sandbox],
                                                 tmp_path: Path) -> None:
    sb = sandbox(seed=6, scale="small", faults="off", environment="sandbox")
    run1, _, _ = _two_runs(sb, str(tmp_path / "drops"), fmt, ["settlements", "quarantine"])
    line = run1.records("settlements")[0]
    assert line["source_bucket"] is None and line["source_version_id"] is None
    assert line["source_sha256"] and line["source_key"].startswith("sandbox/settlements/")


def test_four_formats_converge_in_the_warehouse(s3: t.Any, sandbox: t.Callable[..., Sandbox],
                                               tmp_path: Path) -> None:
    """One sandbox per format (distinct seeds: distinct payments and payouts), one clock,
    one warehouse: two loads and two dbt builds cover the four formats."""
    ensure_installed()
    db = tmp_path / "warehouse.duckdb"
    sandboxes = {fmt: sandbox(seed=11 + n, scale="small", faults="off",
                              environment="sandbox", start_time=START)
                 for n, fmt in enumerate(FORMATS)}
    runs = {fmt: _two_runs(sb, f"{URI}/{fmt}", fmt, STREAMS)
            for fmt, sb in sandboxes.items()}
    scenarios = [sb.settlements().describe() for sb in sandboxes.values()]
    assert len({(s["as_of"], s["expected_from"]) for s in scenarios}) == 1
    # A build before any drop is loaded (another job's): settlement_lines exists, empty.
    load_messages(db, [m for run1, _, _ in runs.values() for m in run1.messages
                       if m.get("stream") == "payments"])
    build(db, scenarios[0])
    assert warehouse_lines(db) == []
    load_messages(db, [m for run1, _, _ in runs.values() for m in run1.messages])
    build(db, scenarios[0])
    assert warehouse_lines(db)
    # The truncated files are quarantined and not repaired yet: the gate fails the build.
    gate = dbt(db, "build", "--select", "stg_quarantine")
    assert gate.status("is_empty_stg_quarantine") == ["fail"]
    # After run 1 the corrected payout holds seq 1; run 2's seq 2 must replace it whole.
    load_messages(db, [m for _, run2, _ in runs.values() for m in run2.messages])
    build(db, scenarios[0])

    lines = warehouse_lines(db)
    truth = truth_lines([line for sb in sandboxes.values()
                         for line in sb.settlements().truth()])
    assert lines == truth
    assert len({(r[0], r[1], r[3]) for r in lines}) == len(lines)  # no line twice
    expected: dict[str, int] = {}
    for scenario in scenarios:
        for category, count in scenario["expected_reconciliation"].items():
            expected[category] = expected.get(category, 0) + count
    assert reconciliation_counts(db) == {k: v for k, v in expected.items() if v}
    assert query(db, "select count(*) from raw.quarantine where stream = 'settlements'") \
        == [(4,)]
    # Each quarantined drop was repaired by a later seq of its payout, now loaded: resolved,
    # so the quarantine gate no longer fails every build (raw keeps the audit rows).
    gate = dbt(db, "build", "--select", "stg_quarantine")
    assert gate.status("is_empty_stg_quarantine") == ["pass"], gate.output[-3000:]
