"""Backfill a date range: one mapped Meltano run per window, then one dbt build.

Trigger with params, e.g. `{"start": "2024-11-01", "end": "2026-11-01", "window_days": 7}`.
Each window runs `tap-partnerapi--backfill` with its own start/end dates, its own Meltano
state id suffix (a retried window resumes from its own bookmark) and an equal share of the
backfill's request budget, so the windows running at once stay within the vendor's limit
next to the incremental schedule. The pool caps vendor work across all Partner API DAGs.

Windows run through `partnerapi-ops run` (the window's state id is its lock): a retry after a
killed attempt runs at once. A window that finds a live run of itself exits 75, which here is
a failure to retry (with backoff), not a skip: a skipped window would leave its dates unloaded.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Param, task
from partnerapi_common import (
    BACKFILL_CONCURRENCY,
    BACKFILL_RPM_BUDGET,
    LOADER,
    POOL,
    ROOT,
    RUN,
    TARGET,
    WAREHOUSE_POOL,
    mark_healthy,
    meltano_task,
    ops_check_task,
    retry_args,
)

from partnerapi_ops.airflow_callbacks import task_failure_callback
from partnerapi_ops.backfill_plan import date_windows

with DAG(
    dag_id="partnerapi_backfill",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["partnerapi"],
    doc_md=__doc__,
    params={
        "start": Param("2024-11-01", type="string", format="date"),
        "end": Param("2024-11-15", type="string", format="date"),
        "window_days": Param(7, type="integer", minimum=1),
    },
) as dag:

    @task(retries=0)
    def plan_windows(params: dict | None = None) -> list[dict[str, str]]:
        assert params is not None
        return date_windows(
            params["start"],
            params["end"],
            int(params["window_days"]),
            BACKFILL_RPM_BUDGET,
            BACKFILL_CONCURRENCY,
        )

    windows = BashOperator.partial(
        task_id="backfill_window",
        bash_command=(
            'TAP_PARTNERAPI__BACKFILL_RUN_ID="backfill-$PARTNERAPI_WINDOW-{{ ts_nodash }}'
            '-{{ ti.try_number }}" '
            f'{RUN} --state-id-suffix "$PARTNERAPI_WINDOW" '
            f"tap-partnerapi--backfill {LOADER}"
        ),
        append_env=True,
        cwd=str(ROOT),
        pool=POOL,
        max_active_tis_per_dag=BACKFILL_CONCURRENCY,
        execution_timeout=timedelta(hours=6),
        on_failure_callback=task_failure_callback,
        # Every non-zero exit fails and is retried (BashOperator would skip on 99 by default).
        skip_on_exit_code=None,
        map_index_template="{{ task.env['PARTNERAPI_WINDOW'] }}",
        **retry_args(timedelta(minutes=2), timedelta(minutes=30), retries=4),
    ).expand(env=plan_windows())

    dbt_build = meltano_task(
        "dbt_build",
        f"run dbt-{TARGET}:build",
        timeout=timedelta(hours=2),
        pool=WAREHOUSE_POOL,
        **retry_args(timedelta(minutes=1), timedelta(minutes=10), retries=2),
    )
    windows >> dbt_build
    dbt_build >> ops_check_task()
    dbt_build >> mark_healthy()
