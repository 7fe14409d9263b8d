"""Airflow glue for the alert sink: failure callback and the "run healthy" resolution.

No Airflow import: the callbacks only read the context mapping Airflow passes in, so this
module imports in the project's venv as well (tests exercise it there too).

Airflow calls a task's ``on_failure_callback`` only once the task has exhausted its retries,
so a transient vendor error that a retry absorbs never pages anyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from partnerapi_ops.alerts import Alert, AlertSink


def run_failed_key(dag_id: str) -> str:
    return f"run_failed:{dag_id}"


def task_failure_callback(context: Mapping[str, Any]) -> None:
    ti = context.get("task_instance") or context.get("ti")
    dag_id = getattr(ti, "dag_id", None) or str(context.get("dag_id", "unknown"))
    task_id = getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    if map_index is not None and map_index >= 0:
        task_id = f"{task_id}[{map_index}]"
    run_id = getattr(ti, "run_id", None) or str(context.get("run_id", "?"))
    exc = context.get("exception")
    summary = f"{dag_id}.{task_id} failed after {getattr(ti, 'try_number', '?')} tries"
    if exc is not None:
        summary += f": {str(exc)[:300]}"
    details = {"dag_id": dag_id, "task_id": task_id, "run_id": run_id}
    log_url = getattr(ti, "log_url", None)
    if log_url:
        details["log_url"] = log_url
    AlertSink.from_env().fire(Alert(run_failed_key(dag_id), "run_failed", summary, details))


def resolve_run_failed(dag_id: str, run_id: str = "") -> bool:
    note = f"run {run_id} succeeded" if run_id else "a later run succeeded"
    return AlertSink.from_env().resolve(run_failed_key(dag_id), note)
