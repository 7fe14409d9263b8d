"""Daily delete reconciliation: lists every id of the hard-deletable resources (customers,
plans, invoice_items); dbt then marks what disappeared. Runs at 03:45 UTC, after the sweep."""

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
    dag_id="partnerapi_reconcile",
    schedule="45 3 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=6),
    tags=["partnerapi"],
    doc_md=__doc__,
) as dag:
    extract_load = run_task(
        "extract_load",
        job("reconcile"),
        timeout=timedelta(hours=3),
        env_prefix=run_id_env("reconcile"),
        **retry_args(timedelta(minutes=5), timedelta(minutes=40), retries=3),
    )
    extract_load >> ops_check_task()
    extract_load >> mark_healthy()
