"""Running Meltano from tests without tripping over other runs of the same project."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


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


def user_project(tmp: Path, definition: Path) -> tuple[Path, Callable[..., str]]:
    """A Meltano user's new project under ``tmp`` (`meltano init`, nothing of this repo's
    project or environment) with the extractor added from its Hub-style ``definition``.
    Returns the project and ``meltano(*args, env=...)``, which runs there, checks the exit
    status and returns stdout. Plugin virtualenvs are installed with uv (warm cache)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MELTANO_", "TAP_PARTNERAPI", "PARTNERAPI_", "VIRTUAL_ENV",
                                "PYTHONPATH"))}
    env.update(MELTANO_CLI_DISABLE_VERSION_CHECK="1", MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
               MELTANO_DISABLE_TRACKING="true", MELTANO_VENV_BACKEND="uv",
               PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    project = tmp / "project"

    def meltano(*args: str, cwd: Path = project, extra: dict[str, str] | None = None) -> str:
        proc = subprocess.run([str(BIN / "meltano"), *args], cwd=cwd, capture_output=True,
                              text=True, timeout=300, env={**env, **(extra or {})})
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout

    meltano("init", project.name, "--no-usage-stats", cwd=tmp)
    meltano("add", "--plugin-type", "extractor", "tap-partnerapi", "--from-ref", str(definition),
            "--no-install")
    return project, meltano
