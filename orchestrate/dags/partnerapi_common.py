"""Settings and task builders shared by the Partner API DAGs (listed in .airflowignore).

Everything is read from the environment of the Airflow processes at parse time:

| env | default | what |
|---|---|---|
| PARTNERAPI_PROJECT_ROOT | two levels above this file | Meltano project (cwd of every task) |
| PARTNERAPI_MELTANO_CMD | `<root>/.venv/bin/meltano` | Meltano (the runner calls it) |
| PARTNERAPI_OPS_CMD | `<root>/.venv/bin/partnerapi-ops` | ops CLI and runner |
| PARTNERAPI_TARGET | `duckdb` | `duckdb` (jobs `incremental`...) or `snowflake` (`snowflake-*`) |
| PARTNERAPI_POOL | `partnerapi_vendor` | pool capping concurrent vendor work |
| PARTNERAPI_RETRY_DELAY_SECONDS | per DAG | first retry delay (doubles each try, bounded) |
| PARTNERAPI_BACKFILL_CONCURRENCY | 1 | backfill windows at once (see below) |
| PARTNERAPI_BACKFILL_RPM_BUDGET | 1000 | requests/min cap, all backfill windows (low priority) |

The alert sink reads its own settings (PARTNERAPI_ALERT_WEBHOOK_URL, PARTNERAPI_ALERT_STATE).

Vendor runs go through `partnerapi-ops run` (partnerapi_ops/runner.py): a per-state-id kernel
lock, so a run killed by a timeout, the OOM killer or a lost worker never fails the next one,
and a run that finds a live run of the same state id exits 75, which the scheduled DAGs show as
"skipped" (the live run does the work; the next slot catches up).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import task

from partnerapi_ops.airflow_callbacks import resolve_run_failed, task_failure_callback
from partnerapi_ops.runner import SKIPPED_EXIT_CODE

ROOT = Path(os.environ.get("PARTNERAPI_PROJECT_ROOT") or Path(__file__).resolve().parents[2])
# The failure callback and mark_healthy run in the Airflow task process, whose cwd is not the
# project: anchor the sink's relative paths (incident state) where `partnerapi-ops` finds them.
os.environ.setdefault("PARTNERAPI_PROJECT_ROOT", str(ROOT))
MELTANO = os.environ.get("PARTNERAPI_MELTANO_CMD") or str(ROOT / ".venv/bin/meltano")
OPS = os.environ.get("PARTNERAPI_OPS_CMD") or str(ROOT / ".venv/bin/partnerapi-ops")
# The runner calls Meltano itself: it reads PARTNERAPI_MELTANO_CMD from the task's environment.
RUN = f"{OPS} run"
TARGET = os.environ.get("PARTNERAPI_TARGET", "duckdb")
if TARGET not in ("duckdb", "snowflake"):
    raise ValueError(f"PARTNERAPI_TARGET must be duckdb or snowflake, not {TARGET!r}")
POOL = os.environ.get("PARTNERAPI_POOL", "partnerapi_vendor")
# The loader plugin of each target (meltano.yml).
LOADER = {"duckdb": "target-duckdb-bulk", "snowflake": "target-snowflake"}[TARGET]
# Meltano keeps a plugin's run files (config, catalog, state) in .meltano/run/<plugin>/, shared
# by concurrent runs of the same plugin in one project directory: windows may only run in
# parallel when each worker has its own project copy. Hence 1 unless said otherwise.
BACKFILL_CONCURRENCY = int(os.environ.get("PARTNERAPI_BACKFILL_CONCURRENCY") or 1)
# DuckDB takes one writer at a time: there dbt must queue with the loads (pool of 1 slot).
WAREHOUSE_POOL = POOL if TARGET == "duckdb" else "default_pool"
# The backfill plugin runs at low priority (meltano.yml): it takes the idle part of the vendor's
# 1000/min per client_id and yields to the scheduled runs, so its windows share the whole limit.
BACKFILL_RPM_BUDGET = int(os.environ.get("PARTNERAPI_BACKFILL_RPM_BUDGET", "1000"))


def job(name: str) -> str:
    """Meltano job name for the configured target (meltano.yml: `sweep` / `snowflake-sweep`)."""
    return name if TARGET == "duckdb" else f"snowflake-{name}"


def retry_args(first_delay: timedelta, max_delay: timedelta, retries: int) -> dict[str, Any]:
    override = os.environ.get("PARTNERAPI_RETRY_DELAY_SECONDS")
    if override:
        first_delay = timedelta(seconds=float(override))
        max_delay = max(first_delay, timedelta(seconds=float(override) * 4))
    return {
        "retries": retries,
        "retry_delay": first_delay,
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": max_delay,
    }


def run_id_env(plugin_suffix: str) -> str:
    """Shell prefix naming the tap run `<suffix>-<ts>-<try>` (plugin tap-partnerapi--<suffix>).

    The ops checks keep sweep/reconcile/backfill runs out of the volume-anomaly baseline by
    this prefix; the try number keeps each attempt's lineage distinct.
    """
    var = f"TAP_PARTNERAPI__{plugin_suffix.upper()}_RUN_ID"
    return f"{var}={plugin_suffix}-{{{{ ts_nodash }}}}-{{{{ ti.try_number }}}} "


def meltano_task(
    task_id: str,
    args: str,
    timeout: timedelta,
    pool: str = POOL,
    env_prefix: str = "",
    command: str = MELTANO,
    **kwargs: Any,
) -> BashOperator:
    """A BashOperator running Meltano (by default against the vendor: pooled), retried, alerting."""
    return BashOperator(
        task_id=task_id,
        bash_command=f"{env_prefix}{command} {args}",
        cwd=str(ROOT),
        pool=pool,
        execution_timeout=timeout,
        on_failure_callback=task_failure_callback,
        **kwargs,
    )


def run_task(
    task_id: str,
    args: str,
    timeout: timedelta,
    env_prefix: str = "",
    **kwargs: Any,
) -> BashOperator:
    """A scheduled Meltano job through the runner (pooled, retried, alerting): exit 75, "a live
    run of this state id is writing", marks the task skipped, not failed, and is not retried."""
    return meltano_task(task_id, args, timeout, env_prefix=env_prefix, command=RUN,
                        skip_on_exit_code=SKIPPED_EXIT_CODE, **kwargs)


def ops_check_task() -> BashOperator:
    """Evaluate health and publish metrics after the run, whether the run failed or not."""
    return BashOperator(
        task_id="ops_check",
        bash_command=f"{OPS} check",
        cwd=str(ROOT),
        trigger_rule="all_done",
        retries=0,
        execution_timeout=timedelta(minutes=5),
    )


@task(task_id="mark_healthy", retries=0)
def mark_healthy(dag_run: Any = None) -> bool:
    """Resolve this DAG's run_failed incident. Upstream failure leaves it upstream_failed,
    which (as a leaf) also marks the DAG run failed."""
    return resolve_run_failed(dag_run.dag_id, dag_run.run_id)
