"""Incremental load every 5 minutes: `partnerapi-ops run incremental` (the Meltano job tap →
loader → dbt build, under the run lock).

One active run at a time and no catch-up: a run that overlaps the next slot simply delays it,
and the tap's own bookmark (with its 2 h overlap) covers whatever time was skipped. A task that
finds a live run of the job (a worker Airflow lost track of, a manual run) is skipped (exit 75);
one killed mid-run never blocks the retry or the next slot.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG
from partnerapi_common import job, mark_healthy, ops_check_task, retry_args, run_task

with DAG(
    dag_id="partnerapi_incremental",
    schedule="*/5 * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    tags=["partnerapi"],
    doc_md=__doc__,
) as dag:
    extract_load = run_task(
        "extract_load",
        job("incremental"),
        timeout=timedelta(minutes=20),
        **retry_args(timedelta(seconds=30), timedelta(minutes=2), retries=2),
    )
    extract_load >> ops_check_task()
    extract_load >> mark_healthy()
