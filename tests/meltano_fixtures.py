"""Running Meltano from tests without tripping over other runs of the same project."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def own_sys_dir(tmp: Path) -> Path:
    """A private `.meltano` (run files, catalog cache, system db) that shares the installed
    plugin virtualenvs: concurrent Meltano runs of a plugin in one project share
    `.meltano/run/<plugin>/` and can remove each other's files. Use it as
    ``MELTANO_SYS_DIR_ROOT``."""
    sys_dir = tmp / "meltano_sys"
    sys_dir.mkdir(exist_ok=True)
    for kind in ("extractors", "loaders", "utilities"):
        if not (sys_dir / kind).exists():
            (sys_dir / kind).symlink_to(ROOT / ".meltano" / kind)
    return sys_dir


def pipeline_env(tmp: Path, api_url: str, **overrides: str) -> dict[str, str]:
    """The environment of a private `meltano run` of the dev pipeline against ``api_url``:
    own system database and `.meltano`, warehouse, dbt target, tap summary and webhook
    landing under ``tmp`` (never the developer's `output/`); ``overrides`` win."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TAP_PARTNERAPI", "TARGET_DUCKDB", "MELTANO_", "DBT_",
                                "PARTNERAPI_"))}
    env.update({
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "1",
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp / 'meltano.db'}",
        "MELTANO_SYS_DIR_ROOT": str(own_sys_dir(tmp)),
        "PARTNERAPI_DUCKDB_PATH": str(tmp / "warehouse.duckdb"),
        "TAP_PARTNERAPI_API_URL": api_url,
        "TAP_PARTNERAPI_SUMMARY_PATH": str(tmp / "summary.jsonl"),
        "TAP_PARTNERAPI_WEBHOOKS_LANDING": str(tmp / "webhooks_landing"),
        "DBT_TARGET_PATH": str(tmp / "dbt_target"),
        "DBT_LOG_PATH": str(tmp / "dbt_logs"),
        **overrides,
    })
    return env
