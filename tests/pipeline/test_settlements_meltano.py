"""The settlements plugin through Meltano, end to end on a folder: `meltano run
tap-partnerapi--settlements target-duckdb-bulk`, its state kept by Meltano between runs.

Run 1 meets the truncated file: the run fails with the tap's quarantine status, but what it
read is loaded and its bookmark kept, so run 2 (after the vendor's late drops, correction and
repair) reads only what is new and succeeds."""

from __future__ import annotations

import subprocess
import typing as t
from pathlib import Path

from partnerapi_sandbox import Sandbox
from tests.support.dbt_fixtures import ROOT, ensure_installed, query
from tests.support.meltano_fixtures import pipeline_env

MELTANO = ROOT / ".venv" / "bin" / "meltano"


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MELTANO), "run", "tap-partnerapi--settlements",
                           "target-duckdb-bulk"], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=300, check=False)


def test_meltano_runs_keep_the_drop_bookmark(sandbox: t.Callable[..., Sandbox],
                                             tmp_path: Path) -> None:
    ensure_installed(("extractor", "tap-partnerapi"), ("loader", "target-duckdb-bulk"))
    sb = sandbox(seed=9, scale="small", faults="off", environment="sandbox")
    exports = sb.settlements()
    drops = tmp_path / "drops"
    env = pipeline_env(tmp_path, sb.url, PARTNERAPI_SETTLEMENTS_LOCATION=str(drops))
    db = tmp_path / "warehouse.duckdb"

    exports.write(str(drops), "ndjson", "initial")
    first = _run(env)
    assert first.returncode != 0  # the quarantine convention: the job is flagged
    assert "not loaded (quarantined)" in first.stderr
    assert query(db, "select count(*) from raw.quarantine where stream = 'settlements'") \
        == [(1,)]
    loaded1 = query(db, "select count(*) from raw.settlements")[0][0]
    assert loaded1 > 0

    exports.write(str(drops), "ndjson", "final")
    second = _run(env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "not loaded (quarantined)" not in second.stderr
    rows = query(db, "select payout_id, seq, line_id from raw.settlements")
    assert len(rows) == len(set(rows))
    top: dict[str, int] = {}
    for payout, seq, _ in rows:
        top[payout] = max(top.get(payout, 0), seq)
    current = sorted((p, line) for p, seq, line in rows if seq == top[p])
    assert current == sorted((x["payout_id"], x["line_id"]) for x in exports.truth())
    # Run 2 read only the new drops: its run id is on exactly those rows.
    new_payouts = {p for p, f in exports.describe()["fault_payouts"].items()
                   if f in ("late", "in_progress", "correction", "disagreeing")}
    run_ids = query(db, "select payout_id, seq, _pa_run_id from raw.settlements")
    second_run = {r for p, s, r in run_ids if p in new_payouts and s == top[p]}
    assert len(second_run) == 1
    assert {p for p, _, r in run_ids if r in second_run} == new_payouts
