"""The Airflow DAGs: they import, are shaped as designed, and run end to end under
`airflow dags test` with Meltano stubbed by configuration (PARTNERAPI_MELTANO_CMD) — in this
file only. Airflow lives in orchestrate/.venv (`orchestrate/install.sh`), never in .venv."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.ops_fixtures import AIRFLOW_VENV, DAGS, ROOT, airflow, airflow_env, airflow_python
from tests.ops.ops_fixtures import webhook_receiver as receiver_cm

if not (AIRFLOW_VENV / "bin" / "airflow").exists():
    pytest.skip(
        "orchestrate/.venv is absent: run `bash orchestrate/install.sh` to test the DAGs",
        allow_module_level=True,
    )

DAG_IDS = {
    "partnerapi_incremental",
    "partnerapi_sweep",
    "partnerapi_reconcile",
    "partnerapi_backfill",
}

STUB = """#!/bin/sh
# Stand-in for Meltano (this test only): records the call, exits with $STUB_RC.
python3 - "$@" <<'PY'
import json, os, sys
with open(os.environ["STUB_CALLS"], "a") as f:
    f.write(json.dumps({"argv": sys.argv[1:], "env": {k: v for k, v in os.environ.items()
        if k.startswith(("TAP_PARTNERAPI", "PARTNERAPI_WINDOW"))}}) + "\\n")
PY
exit "${STUB_RC:-0}"
"""

INSPECT = """
import json, os
from pathlib import Path
from airflow.dag_processing.dagbag import BundleDagBag
folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
bag = BundleDagBag(dag_folder=folder, bundle_path=folder, bundle_name="dags-folder")
out = {"errors": {k: str(v)[-500:] for k, v in bag.import_errors.items()}, "dags": {}}
for dag in bag.dags.values():
    tasks = {}
    for t in dag.tasks:
        tasks[t.task_id] = {
            "pool": t.pool, "retries": t.retries,
            "retry_delay": t.retry_delay.total_seconds(),
            "backoff": t.retry_exponential_backoff,
            "max_retry_delay": t.max_retry_delay.total_seconds() if t.max_retry_delay else None,
            "trigger_rule": getattr(t.trigger_rule, "value", str(t.trigger_rule)),
            "callback": bool(t.on_failure_callback),
            "max_active_tis_per_dag": t.max_active_tis_per_dag,
            "command": str(getattr(t, "bash_command", "")
                           or getattr(t, "partial_kwargs", {}).get("bash_command", "")),
            "mapped": type(t).__name__ == "MappedOperator",
            "skip_on_exit_code": sorted(getattr(t, "skip_on_exit_code", None) or []),
            "upstream": sorted(t.upstream_task_ids),
        }
    out["dags"][dag.dag_id] = {
        "schedule": str(dag.schedule), "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs, "tasks": tasks,
    }
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("airflow_home")
    proc = airflow(["db", "migrate"], airflow_env(home))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return home


@pytest.fixture
def stub(tmp_path: Path) -> dict[str, str]:
    script = tmp_path / "meltano_stub.sh"
    script.write_text(STUB)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {
        "PARTNERAPI_MELTANO_CMD": str(script),
        "STUB_CALLS": str(tmp_path / "calls.jsonl"),
        # The real ops CLI runs in ops_check, on this test's own (empty) files.
        "PARTNERAPI_SUMMARY_PATH": str(tmp_path / "summary.jsonl"),
        "PARTNERAPI_DUCKDB_PATH": str(tmp_path / "absent.duckdb"),
        "PARTNERAPI_DBT_RUN_RESULTS": str(tmp_path / "run_results.json"),
        "PARTNERAPI_ALERT_STATE": str(tmp_path / "incidents.json"),
        "PARTNERAPI_METRICS_TEXTFILE": str(tmp_path / "partnerapi.prom"),
        "PARTNERAPI_RETRY_DELAY_SECONDS": "1",
        # The runner's locks for this test only (not the developer's .meltano/).
        "PARTNERAPI_LOCK_DIR": str(tmp_path / "locks"),
    }


@pytest.fixture
def repo_state() -> Iterator[tuple[str, Path]]:
    """A relative incident-state path under the project's (ignored) output/, removed after."""
    rel = f"output/ops/test-{uuid.uuid4().hex}/incidents.json"
    yield rel, ROOT / rel
    shutil.rmtree((ROOT / rel).parent, ignore_errors=True)


def calls(stub: dict[str, str]) -> list[dict]:
    path = Path(stub["STUB_CALLS"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_dagbag_imports_and_dags_are_shaped_as_designed(home: Path) -> None:
    out = airflow_python(INSPECT, airflow_env(home))
    assert out["errors"] == {}
    dags = out["dags"]
    assert set(dags) == DAG_IDS

    inc = dags["partnerapi_incremental"]
    assert (inc["schedule"], inc["catchup"], inc["max_active_runs"]) == ("*/5 * * * *", False, 1)
    assert dags["partnerapi_sweep"]["schedule"] == "15 2 * * *"
    assert dags["partnerapi_reconcile"]["schedule"] == "45 3 * * *"
    assert dags["partnerapi_backfill"]["schedule"] == "None"
    # Scheduled vendor runs go through the runner (run lock); 75 = skipped.
    for name in ("incremental", "sweep", "reconcile"):
        command = dags[f"partnerapi_{name}"]["tasks"]["extract_load"]["command"]
        assert f"partnerapi-ops run {name}" in command
    for d in ("partnerapi_incremental", "partnerapi_sweep", "partnerapi_reconcile"):
        assert dags[d]["tasks"]["extract_load"]["skip_on_exit_code"] == [75]
    assert (
        "partnerapi-ops run --state-id-suffix"
        in (dags["partnerapi_backfill"]["tasks"]["backfill_window"]["command"])
    )

    vendor_tasks = [
        dags[d]["tasks"]["extract_load"]
        for d in ("partnerapi_incremental", "partnerapi_sweep", "partnerapi_reconcile")
    ] + [dags["partnerapi_backfill"]["tasks"]["backfill_window"]]
    for t in vendor_tasks:
        assert t["pool"] == "partnerapi_vendor"
        assert t["callback"], "vendor work must alert when it finally fails"
        assert 1 <= t["retries"] <= 4
        assert t["backoff"] == 2.0 and t["max_retry_delay"] is not None
        assert t["retry_delay"] <= t["max_retry_delay"] <= 3600

    bf = dags["partnerapi_backfill"]["tasks"]
    assert bf["backfill_window"]["mapped"]
    assert bf["backfill_window"]["max_active_tis_per_dag"] >= 1
    assert "tap-partnerapi--backfill" in bf["backfill_window"]["command"]
    # DuckDB (the default target) has one writer: dbt queues in the same one-slot pool.
    assert bf["dbt_build"]["pool"] == "partnerapi_vendor"
    for d in dags.values():
        assert d["tasks"]["ops_check"]["trigger_rule"] == "all_done"
        assert d["tasks"]["mark_healthy"]["trigger_rule"] == "all_success"


def test_incremental_dag_runs_end_to_end(home: Path, stub: dict[str, str]) -> None:
    proc = airflow(["dags", "test", "partnerapi_incremental"], airflow_env(home, **stub))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert [c["argv"] for c in calls(stub)] == [["run", "--force", "incremental"]]
    # ops_check ran the real partnerapi-ops: it wrote the node_exporter textfile.
    assert (
        "partnerapi_warehouse_readable 0.0" in Path(stub["PARTNERAPI_METRICS_TEXTFILE"]).read_text()
    )


STATES = """
import json
from airflow.models import DagRun, TaskInstance
from airflow.utils.session import create_session
with create_session() as session:
    run = (session.query(DagRun).filter(DagRun.dag_id == "partnerapi_incremental")
           .order_by(DagRun.start_date.desc()).first())
    tis = session.query(TaskInstance).filter(TaskInstance.dag_id == run.dag_id,
                                             TaskInstance.run_id == run.run_id)
    print(json.dumps({"run": str(run.state), **{ti.task_id: str(ti.state) for ti in tis}}))
"""


def test_a_run_that_finds_a_live_run_of_its_job_is_skipped_not_failed(
    home: Path, stub: dict[str, str], tmp_path: Path
) -> None:
    """The lock of `incremental`'s state id is held (as by a live run on this host): the task
    exits 75, Airflow marks it skipped (no retry, no alert) and the DAG run succeeds."""
    lock = Path(stub["PARTNERAPI_LOCK_DIR"]) / "dev:tap-partnerapi-to-target-duckdb-bulk.lock"
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen(["flock", "-o", str(lock), "sleep", "300"])
    try:
        while subprocess.run(["flock", "-n", str(lock), "true"]).returncode == 0:
            time.sleep(0.05)
        with receiver_cm() as hook:
            env = airflow_env(home, **stub, PARTNERAPI_ALERT_WEBHOOK_URL=hook.url)
            proc = airflow(["dags", "test", "partnerapi_incremental"], env)
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
            assert hook.events() == [], "a skipped run must not page anyone"
    finally:
        holder.kill()
        holder.wait()
    assert calls(stub) == [], "the skipped run must not start Meltano"
    states = airflow_python(STATES, airflow_env(home, **stub))
    assert states["run"] == "success"
    assert states["extract_load"] == "skipped"
    assert states["ops_check"] == "success"  # health is still evaluated and published


def test_backfill_dag_maps_windows_each_with_its_budget_share(
    home: Path, stub: dict[str, str]
) -> None:
    conf = json.dumps({"start": "2024-01-01", "end": "2024-01-20", "window_days": 7})
    env = airflow_env(home, **stub, PARTNERAPI_BACKFILL_CONCURRENCY="3")
    proc = airflow(["dags", "test", "partnerapi_backfill", "-c", conf], env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    runs = calls(stub)
    windows = sorted(
        (
            c["env"]["TAP_PARTNERAPI__BACKFILL_START_DATE"],
            c["env"]["TAP_PARTNERAPI__BACKFILL_END_DATE"],
        )
        for c in runs
        if "tap-partnerapi--backfill" in c["argv"]
    )
    assert windows == [
        ("2024-01-01T00:00:00Z", "2024-01-08T00:00:00Z"),
        ("2024-01-08T00:00:00Z", "2024-01-15T00:00:00Z"),
        ("2024-01-15T00:00:00Z", "2024-01-20T00:00:00Z"),
    ]
    for c in runs:
        if "tap-partnerapi--backfill" in c["argv"]:
            # The vendor's 1000 req/min for the (low-priority) backfill, 3 windows at once:
            # 333 each, never more in total.
            assert c["env"]["TAP_PARTNERAPI__BACKFILL_REQUESTS_PER_MINUTE"] == "333"
            suffix = c["argv"][c["argv"].index("--state-id-suffix") + 1]
            assert suffix == c["env"]["PARTNERAPI_WINDOW"]
            run_id = c["env"]["TAP_PARTNERAPI__BACKFILL_RUN_ID"]
            assert run_id.startswith(f"backfill-{suffix}-") and "{{" not in run_id
    assert runs[-1]["argv"] == ["run", "dbt-duckdb:build"]


def test_failing_task_alerts_once_and_the_next_good_run_resolves(
    home: Path, stub: dict[str, str], tmp_path: Path, repo_state: tuple[str, Path]
) -> None:
    # A relative state path, as deployed, and Airflow started elsewhere (as a scheduler is):
    # the callback, mark_healthy and `partnerapi-ops` must all anchor it at the project root.
    rel, state = repo_state
    stub = {**stub, "PARTNERAPI_ALERT_STATE": rel}
    with receiver_cm() as hook:
        env = airflow_env(home, **stub, PARTNERAPI_ALERT_WEBHOOK_URL=hook.url, STUB_RC="1")
        first = airflow(["dags", "test", "partnerapi_incremental"], env, cwd=tmp_path)
        assert first.returncode != 0, "the DAG run must fail when Meltano fails"
        attempts = [c for c in calls(stub) if c["argv"] == ["run", "--force", "incremental"]]
        assert len(attempts) == 3, "1 try + 2 retries, no more"
        assert hook.events() == [("open", "run_failed:partnerapi_incremental")]
        assert "failed after 3 tries" in hook.posts[0]["text"]
        # `partnerapi-ops status` (cwd = project) sees the incident the callback opened.
        assert "run_failed:partnerapi_incremental" in json.loads(state.read_text())["open"]

        env["STUB_RC"] = "0"
        healthy = airflow(["dags", "test", "partnerapi_incremental"], env, cwd=tmp_path)
        assert healthy.returncode == 0, healthy.stderr[-3000:]
        assert hook.events() == [
            ("open", "run_failed:partnerapi_incremental"),
            ("resolved", "run_failed:partnerapi_incremental"),
        ]
    assert json.loads(state.read_text())["open"] == {}


def test_dags_folder_holds_only_partnerapi_dags() -> None:
    # .airflowignore keeps the shared helper module from being parsed as a DAG file.
    assert (DAGS / ".airflowignore").read_text().strip() == r"partnerapi_common\.py"
