"""Operations settings, read from the environment so Airflow, cron and a shell agree.

Every path is relative to the project root (``PARTNERAPI_PROJECT_ROOT``, default: the current
directory) unless given absolute. Stdlib only: the Airflow virtualenv imports this package.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _env(name: str, default: str = "") -> str:
    value = os.environ.get(name, "")
    return value if value.strip() else default


def _path(root: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else root / p


@dataclass(frozen=True)
class OpsConfig:
    project_root: Path
    environment: str
    summary_path: Path
    run_results_path: Path
    manifest_path: Path
    warehouse_path: Path
    state_path: Path
    webhook_url: str
    textfile_path: Path
    pushgateway_url: str
    pushgateway_job: str
    freshness_slo_minutes: float
    anomaly_min_history: int
    anomaly_spike_factor: float
    anomaly_min_records: int

    @classmethod
    def from_env(cls) -> OpsConfig:
        root = Path(_env("PARTNERAPI_PROJECT_ROOT", os.getcwd())).resolve()
        return cls(
            project_root=root,
            environment=_env("PARTNERAPI_ENVIRONMENT"),  # label for alerts; empty: none
            # Same file the tap appends to (its `summary_path` setting).
            summary_path=_path(root, _env("PARTNERAPI_SUMMARY_PATH", "output/tap_summary.jsonl")),
            run_results_path=_path(
                root, _env("PARTNERAPI_DBT_RUN_RESULTS", "transform/target/run_results.json")
            ),
            manifest_path=_path(
                root, _env("PARTNERAPI_DBT_MANIFEST", "transform/target/manifest.json")
            ),
            warehouse_path=_path(root, _env("PARTNERAPI_DUCKDB_PATH", "output/warehouse.duckdb")),
            state_path=_path(root, _env("PARTNERAPI_ALERT_STATE", "output/ops/incidents.json")),
            webhook_url=_env("PARTNERAPI_ALERT_WEBHOOK_URL"),
            textfile_path=_path(
                root, _env("PARTNERAPI_METRICS_TEXTFILE", "output/ops/partnerapi.prom")
            ),
            pushgateway_url=_env("PARTNERAPI_PUSHGATEWAY_URL"),
            pushgateway_job=_env("PARTNERAPI_PUSHGATEWAY_JOB", "partnerapi"),
            freshness_slo_minutes=float(_env("PARTNERAPI_FRESHNESS_SLO_MINUTES", "15")),
            anomaly_min_history=int(_env("PARTNERAPI_ANOMALY_MIN_HISTORY", "5")),
            anomaly_spike_factor=float(_env("PARTNERAPI_ANOMALY_SPIKE_FACTOR", "10")),
            anomaly_min_records=int(_env("PARTNERAPI_ANOMALY_MIN_RECORDS", "50")),
        )
