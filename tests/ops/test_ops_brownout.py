"""A vendor brownout through the real pipeline: sandbox → tap → Meltano → target-duckdb-bulk.

The listing answers 503 for a stretch of runs. Each run is what the incremental DAG's task
runs (tap + loader; dbt is left out for time); after each one the test does what the DAG does
next: on failure the failure callback (Airflow calls it once the task's retries are spent),
on success the resolve of `mark_healthy`, then `partnerapi-ops check` as `ops_check` does.
The Airflow wiring of those hooks is proven in test_ops_dags.py.

Time is the sandbox's simulated clock: it moves 10 minutes between runs, and the ops tools
evaluate "now" at that clock (`--now`), so freshness lag is measured as production would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from partnerapi_ops.airflow_callbacks import resolve_run_failed, task_failure_callback
from tests.ops.ops_fixtures import BrownoutGate, webhook_receiver
from tests.support.meltano_fixtures import own_sys_dir

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MAX_RETRIES = 2  # the tap's per-page bound in this test
DAG = "partnerapi_incremental"
PLAN = ["up", "down", "down", "down", "up"]


def _epoch(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def _metrics(env: dict[str, str], now: str) -> dict[tuple[str, frozenset], float]:
    text = subprocess.run(
        [str(BIN / "partnerapi-ops"), "--now", now, "metrics", "--no-publish"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def test_brownout_alerts_once_resolves_once_and_metrics_track_it(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not (ROOT / ".meltano/loaders/target-duckdb-bulk/venv/bin/target-duckdb-bulk").exists():
        pytest.fail("target-duckdb-bulk is not installed: run `make test` (meltano install)")
    sb = sandbox(seed=7, scale="small", faults="off")
    gate = BrownoutGate(sb.url)
    with webhook_receiver() as hook:
        ops_settings = {
            "PARTNERAPI_PROJECT_ROOT": str(tmp_path),
            "PARTNERAPI_SUMMARY_PATH": str(tmp_path / "summary.jsonl"),
            "PARTNERAPI_DUCKDB_PATH": str(tmp_path / "wh.duckdb"),
            "PARTNERAPI_DBT_RUN_RESULTS": str(tmp_path / "none.json"),
            "PARTNERAPI_ALERT_STATE": str(tmp_path / "incidents.json"),
            "PARTNERAPI_METRICS_TEXTFILE": str(tmp_path / "partnerapi.prom"),
            "PARTNERAPI_ALERT_WEBHOOK_URL": hook.url,
            # Three 10-minute failures stay inside this SLO: this test is about the run
            # incident (a longer brownout also opens freshness:<env>, once).
            "PARTNERAPI_FRESHNESS_SLO_MINUTES": "60",
        }
        for k, v in ops_settings.items():
            monkeypatch.setenv(k, v)  # the callbacks below read the sink settings from env
        # Meltano keeps each plugin's run files in .meltano/run/<plugin>/, shared by every
        # concurrent `meltano run` of the project: this test gets its own .meltano (system db,
        # state, run files) around the project's installed plugins.
        sys_dir = own_sys_dir(tmp_path)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_", "MELTANO_"))}
        env.update(
            TAP_PARTNERAPI_API_URL=gate.url,
            TAP_PARTNERAPI_SUMMARY_PATH=ops_settings["PARTNERAPI_SUMMARY_PATH"],
            TAP_PARTNERAPI_REQUESTS_PER_MINUTE="1000",
            TAP_PARTNERAPI_MAX_RETRIES=str(MAX_RETRIES),
            TAP_PARTNERAPI_WEBHOOKS_LANDING=str(tmp_path / "webhooks_landing"),
            MELTANO_SYS_DIR_ROOT=str(sys_dir),
            MELTANO_CLI_DISABLE_VERSION_CHECK="1",
        )

        history: list[dict[str, Any]] = []
        for i, phase in enumerate(PLAN):
            if i:
                sb.advance(minutes=10)
            gate.down, gate.rejected = phase == "down", 0
            run = subprocess.run(
                [str(BIN / "meltano"), "run", "tap-partnerapi", "target-duckdb-bulk"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if run.returncode:
                ti = SimpleNamespace(
                    dag_id=DAG, task_id="extract_load", run_id=f"r{i}", try_number=3, map_index=-1
                )
                task_failure_callback({"ti": ti, "exception": RuntimeError("meltano failed")})
            else:
                resolve_run_failed(DAG, f"r{i}")
            now = sb.clock()["now"]
            newest = max(r["updated_at"] for r in sb.truth("events").values())
            check = subprocess.run(
                [str(BIN / "partnerapi-ops"), "--now", now, "check"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert check.returncode == 0, check.stderr[-2000:]
            history.append(
                {
                    "phase": phase,
                    "rc": run.returncode,
                    "rejected": gate.rejected,
                    "posts": len(hook.posts),
                    "metrics": _metrics(env, now),
                    "vendor_events_lag": _epoch(now) - _epoch(newest),
                    "stderr": run.stderr[-4000:],
                    "upstream_errors": list(gate.upstream_errors),
                }
            )
    gate.stop()

    for h in history:
        assert (h["rc"] == 0) == (h["phase"] == "up"), h["stderr"]
    # The tap gives up within its bound instead of hammering a vendor in trouble.
    for h in history:
        if h["phase"] == "down":
            assert 1 <= h["rejected"] <= MAX_RETRIES + 1, (h["upstream_errors"], h["stderr"])
    # One page for the whole brownout, one all-clear when it ends: no more, no less.
    assert hook.events() == [("open", f"run_failed:{DAG}"), ("resolved", f"run_failed:{DAG}")]
    assert [h["posts"] for h in history] == [0, 1, 1, 1, 2]

    summaries = [json.loads(x) for x in (tmp_path / "summary.jsonl").read_text().splitlines()]
    failed = [s for s in summaries if s["status"] == "failed"]
    assert len(failed) == 3
    assert all(1 <= s["retries"]["http_5xx"] <= MAX_RETRIES + 1 for s in failed)

    stream = failed[0]["stream"]  # the stream the brownout stopped (the first one read)
    lab = {"environment": "sandbox", "stream": stream}

    def series(name: str, extra: dict[str, str] | None = None) -> list[float]:
        key = frozenset({**lab, **(extra or {})}.items())
        return [h["metrics"].get((name, key), 0.0) for h in history]

    retries = series("partnerapi_retries_total", {"cause": "http_5xx"})
    assert retries[0] == 0 and retries[1] < retries[2] < retries[3] == retries[4]
    last = series("partnerapi_last_run_retries", {"cause": "http_5xx"})
    assert last[0] == 0 and min(last[1:4]) >= 1 and last[4] == 0
    failed_flag = series("partnerapi_last_run_failed")
    assert failed_flag == [0, 1, 1, 1, 0]

    # Freshness lag grows while nothing loads and recovers once the vendor is back.
    lag = series("partnerapi_coverage_lag_seconds")
    assert lag[1] < lag[2] < lag[3], lag
    # Three 10-minute steps without a load (the ledger's reach trails the clock by seconds).
    assert lag[3] > 25 * 60 and lag[4] < lag[1]
    # For a stream's data, "recovered" means caught up with what the vendor shows: the newest
    # updated_at loaded equals the newest visible one (a quiet stream can be minutes old).
    fresh = [
        h["metrics"][
            ("partnerapi_freshness_seconds", frozenset({**lab, "stream": "events"}.items()))
        ]
        for h in history
    ]
    vendor = [h["vendor_events_lag"] for h in history]
    assert fresh[1] < fresh[2] < fresh[3], fresh
    assert fresh[3] > vendor[3] + 60, "during the brownout the warehouse falls behind"
    assert fresh[4] < fresh[3] and fresh[4] == pytest.approx(vendor[4], abs=0.01)
