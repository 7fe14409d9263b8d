"""End-to-end convergence under chaos (fast variant of `make chaos`; select with `-m chaos`).

The real pipeline - a `partnerapi-sandbox serve` process with heavy faults and 8 s tokens,
`meltano run` of the project's incremental, reconcile, sweep and backfill jobs, target-duckdb-bulk,
dbt - in an isolated corner (own Meltano system DB and sys dir, own warehouse file). One
incremental run and one backfill run are SIGKILLed mid-sync and simply run again; the vendor's
clock moves between runs (creates, updates, hard deletes, 2 h- and 48 h-late records,
additive fields). After the last sweep and reconciliation every mart, the raw layer and the
coverage ledger are compared with the sandbox's ground truth (chaos/compare.py says how).
Then the vendor renames invoices.amount_due.

Safeguard demonstration (not run by default): CHAOS_SAFEGUARD_DEMO=1 runs the same scenario
with every tap plugin's overlap_hours set to 0 and asserts that the comparison catches the
late records it loses (see docs/reliability.md).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from chaos.figures import figures_table
from chaos.pipeline import MELTANO_BIN, ROOT, Pipeline
from chaos.scenario import ChaosConfig, ChaosReport, run_convergence

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(2400)]  # ~15 runs of 30-80 s each

FAST = {"cycles": 2, "kill_cycle": 1, "backfill_cycle": 1, "additive_from_cycle": 1,
        "sweep_every": 8}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> ChaosReport:
    cfg = ChaosConfig(**FAST, workdir=Path(tmp_path_factory.mktemp("chaos")))
    result = run_convergence(cfg)
    print("\n" + figures_table(result))
    return result


def test_every_run_succeeded_or_was_killed_on_purpose(report: ChaosReport) -> None:
    assert not report.unexpected_failures, "\n\n".join(report.unexpected_failures)
    killed = [r.run_id for r in report.runs if r.killed]
    assert any("incremental" in k for k in killed) and any("backfill" in k for k in killed)
    # The killed backfill was simply run again and completed.
    assert any(r.job == "backfill" and r.ok for r in report.runs)


def test_the_vendor_was_hostile(report: ChaosReport) -> None:
    assert sum(report.faults.values()) >= 10, report.faults
    assert len([k for k, n in report.faults.items() if n]) >= 5, report.faults
    assert len(report.retries) >= 3, report.retries
    # 8 s tokens: several tap runs had to renew theirs mid-run.
    renewed = [r.run_id for r in report.runs
               if r.log.read_text(errors="replace").count("Requesting new access token") > 1]
    assert len(renewed) >= 2, renewed


def test_marts_converge_to_the_vendors_truth(report: ChaosReport) -> None:
    f = report.findings
    assert f.total == 0, f.report()
    for table in ("customers", "plans", "subscriptions", "invoices", "invoice_items",
                  "payments", "refunds", "payment_events", "payment_transactions",
                  "invoices_history", "coverage_ledger"):
        assert f.compared[table] > 0, table


def test_deterministic_late_records_were_exercised(report: ChaosReport) -> None:
    lags = sorted(_hours(t["updated_at"], t["visible_at"]) for t in report.late_touched)
    assert lags[0] < 2 < lags[-1] < 48, lags


def test_rename_is_quarantined_never_loaded_as_null(report: ChaosReport) -> None:
    rename = report.rename
    assert rename is not None
    assert rename.run.returncode != 0, "a breaking schema change must fail the run"
    assert rename.summary_statuses.get("invoices") == "quarantined", rename.summary_statuses
    assert rename.log_mentions_quarantine
    assert rename.quarantined_ids, "no invoice quarantined although the vendor renamed"
    assert rename.null_amount_due == dict.fromkeys(rename.null_amount_due, 0), \
        rename.null_amount_due


# -- defects found in other parts (xfail strict: they turn red once fixed, drop the mark) --


@pytest.mark.xfail(strict=True, reason="Meltano 4.4.1 crashes ('Object of type Decimal is not "
                   "JSON serializable') on `kind: decimal` settings from env vars, so meltano.yml "
                   "types overlap_hours as integer: fractional hours only work from meltano.yml")
def test_decimal_setting_from_env_var(tmp_path: Path) -> None:
    env = Pipeline(tmp_path, "http://127.0.0.1:9", {}).env
    env["TAP_PARTNERAPI_OVERLAP_HOURS"] = "0.5"
    proc = subprocess.run([MELTANO_BIN, "invoke", "--dump=config", "tap-partnerapi"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert '"overlap_hours": 0.5' in proc.stdout


@pytest.mark.skipif(not os.environ.get("CHAOS_SAFEGUARD_DEMO"),
                    reason="safeguard demonstration: set CHAOS_SAFEGUARD_DEMO=1")
def test_without_overlap_the_late_data_assertion_fails(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    cfg = ChaosConfig(**FAST, overlap_hours=0,
                      workdir=Path(tmp_path_factory.mktemp("chaos_no_overlap")))
    result = run_convergence(cfg, then_rename=False)
    print("\n" + figures_table(result) + "\n" + result.findings.report())
    assert result.findings.mismatches["stale_version"] + result.findings.mismatches["missing"]


def _hours(start: str, end: str) -> float:
    import datetime as dt

    def parse(s: str) -> dt.datetime:
        return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))

    return (parse(end) - parse(start)).total_seconds() / 3600
