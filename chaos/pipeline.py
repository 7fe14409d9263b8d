"""`meltano run` of the project's jobs in an isolated corner: its own Meltano system database
(so its own state), its own warehouse file, summary file and dbt target directory. Nothing a
developer or another test uses is touched, and the jobs are the project's own, unchanged."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MELTANO_BIN = str(Path(sys.executable).with_name("meltano"))
# Any of these in the caller's environment would leak into the jobs and break isolation.
_FOREIGN = ("TAP_PARTNERAPI", "TARGET_DUCKDB", "MELTANO_", "DBT_", "PARTNERAPI_")
JOB_TIMEOUT_S = 900


@dataclasses.dataclass
class RunResult:
    job: str
    run_id: str
    returncode: int
    seconds: float
    killed: bool
    log: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.killed

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class Pipeline:
    """The project's Meltano jobs against one sandbox, isolated under ``workdir``."""

    def __init__(self, workdir: Path, api_url: str, tap_settings: dict[str, str],
                 project_root: Path | None = None) -> None:
        self.workdir = workdir
        self.project_root = project_root or ROOT
        workdir.mkdir(parents=True, exist_ok=True)
        self.warehouse = workdir / "warehouse.duckdb"
        self.summary = workdir / "tap_summary.jsonl"
        self.logs = workdir / "logs"
        self.logs.mkdir(exist_ok=True)
        sys_dir = _private_sys_dir(workdir / "meltano_sys")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(_FOREIGN) and not k.lower().endswith("_proxy")}
        env.update({
            "MELTANO_CLI_DISABLE_VERSION_CHECK": "1",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_DISABLE_TRACKING": "true",
            "MELTANO_DATABASE_URI": f"sqlite:///{workdir / 'meltano.db'}",
            "MELTANO_SYS_DIR_ROOT": str(sys_dir),
            "PARTNERAPI_DUCKDB_PATH": str(self.warehouse),
            "DBT_TARGET_PATH": str(workdir / "dbt_target"),
            "DBT_LOG_PATH": str(workdir / "dbt_logs"),
            "TAP_PARTNERAPI_API_URL": api_url,
            "TAP_PARTNERAPI_SUMMARY_PATH": str(self.summary),
            # Never the project's own output/webhooks/landing (a developer's receiver).
            "TAP_PARTNERAPI_WEBHOOKS_LANDING": str(workdir / "webhooks_landing"),
        })
        env.update({f"TAP_PARTNERAPI_{k.upper()}": v for k, v in tap_settings.items()})
        self.env = env
        self.runs: list[RunResult] = []

    def run(self, job: str, run_id: str, *, extra_env: dict[str, str] | None = None,
            kill_when: Callable[[float], bool] | None = None, force: bool = False,
            ) -> RunResult:
        """`meltano run <job>`; ``kill_when(elapsed)`` true -> SIGKILL of the whole run
        (Meltano, tap, loader, dbt: one process group), as a crashed host would.

        ``force``: the run right after a SIGKILL. Meltano still holds the killed run as
        "running" and refuses the same pipeline until its heartbeat goes stale (5 min); an
        operator who knows the process is dead re-runs with ``--force``."""
        log = self.logs / f"{run_id}.log"
        env = {**self.env, **(extra_env or {}), "TAP_PARTNERAPI_RUN_ID": run_id}
        # Inherited plugins (sweep, reconcile, backfill) are configured by their own names.
        for plugin in ("SWEEP", "RECONCILE", "BACKFILL"):
            env[f"TAP_PARTNERAPI__{plugin}_RUN_ID"] = run_id
        started = time.monotonic()
        killed = False
        with log.open("w") as fh:
            proc = subprocess.Popen(
                [MELTANO_BIN, "run", *(["--force"] if force else []), job], cwd=self.project_root,
                env={**env, "MELTANO_PROJECT_ROOT": str(self.project_root)}, stdout=fh,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                while proc.poll() is None:
                    elapsed = time.monotonic() - started
                    if elapsed > JOB_TIMEOUT_S:
                        raise TimeoutError(f"{job} ({run_id}) still running after "
                                           f"{JOB_TIMEOUT_S} s; see {log}")
                    if kill_when is not None and not killed and kill_when(elapsed):
                        os.killpg(proc.pid, signal.SIGKILL)
                        killed = True
                    time.sleep(0.2)
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        result = RunResult(job, run_id, proc.returncode, time.monotonic() - started,
                           killed, log)
        self.runs.append(result)
        return result

    def summaries(self) -> list[dict]:
        """Every PARTNERAPI_SUMMARY line the tap wrote (killed runs write none)."""
        if not self.summary.exists():
            return []
        out = []
        for line in self.summary.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line cut by SIGKILL
        return out


def _private_sys_dir(path: Path) -> Path:
    """A Meltano system directory of our own that reuses the project's installed plugin
    virtualenvs: Meltano writes every invocation's config and discovered catalog under
    ``<sys dir>/run/<plugin>/``, and two projects' runs sharing it corrupt each other's
    catalog ("Invalid catalog" with a half-written file)."""
    path.mkdir(parents=True, exist_ok=True)
    for kind in ("extractors", "loaders", "utilities"):
        link = path / kind
        if not link.exists():
            link.symlink_to(ROOT / ".meltano" / kind, target_is_directory=True)
    return path
