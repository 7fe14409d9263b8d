"""Daily 48 h sweep: re-reads 48 h behind the sweep's bookmark for the vendor's late
corrections (documented lateness up to 48 h). Runs at 02:15 UTC, away from the reconcile."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG
from partnerapi_common import (
    job,
    mark_healthy,
    ops_check_task,
    retry_args,
    run_id_env,
    run_task,
)

with DAG(
    dag_id="partnerapi_sweep",
    schedule="15 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=6),
    tags=["partnerapi"],
    doc_md=__doc__,
) as dag:
    extract_load = run_task(
        "extract_load",
        job("sweep"),
        timeout=timedelta(hours=3),
        env_prefix=run_id_env("sweep"),
        **retry_args(timedelta(minutes=5), timedelta(minutes=40), retries=3),
    )
    extract_load >> ops_check_task()
    extract_load >> mark_healthy()
