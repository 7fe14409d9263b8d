"""`partnerapi-ops run`: `meltano run` behind a lock the kernel releases when its holder dies.

Why: Meltano refuses a run while the system database shows another run of the same state id
as "running", and only calls that run stale after 5 minutes without a heartbeat. A run that
was SIGKILLed (OOM killer, lost node, task timeout) leaves exactly that record, so each
scheduled run in the next 5 minutes failed and paged someone.

How: one lock file per Meltano state id the run writes (``<env>:<extractor>-to-<loader>[:suffix]``,
derived from meltano.yml the way Meltano derives it), locked with ``flock(2)``. The kernel drops
an flock when the last descriptor of it is closed, which is also what happens when every
process holding it dies, however it dies. So:

- lock taken: no live process of ours writes that state id, and a "running" job Meltano still
  shows is a dead one. Only then is ``meltano run --force`` used (see :func:`meltano_command`).
- lock busy: a live run is writing. Wait up to ``--wait`` seconds for it, else exit
  :data:`SKIPPED_EXIT_CODE` (75, EX_TEMPFAIL: "try again later") with one line saying so. The
  Airflow DAGs map 75 to "skipped"; cron lines use ``--skipped-exit-code 0``.

The lock descriptor is inherited by the ``meltano`` process, so killing only the runner leaves
the lock held for as long as Meltano runs. The runner is also the "child subreaper" of the run
(Linux): if Meltano alone is killed, its tap and loader are re-parented to the runner, which
waits for them to exit (they get EOF/EPIPE at once) before it lets the lock go.

Meltano's check still protects runs started by hand without the runner: they see the
runner's job as running. The reverse is not covered: start every scheduled or manual run of a
job through this command. The lock files live on the host (next to Meltano's run files);
hosts sharing one system database need a shared lock directory (``PARTNERAPI_LOCK_DIR``, on a
file system with POSIX/flock locks such as NFSv4) or one worker per job (the Airflow pool).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

# One definition: the DAGs (orchestrate/dags/partnerapi_common.py) import it.
SKIPPED_EXIT_CODE = 75
_PR_SET_CHILD_SUBREAPER = 36
_POLL_SECONDS = 0.5


class RunnerError(Exception):
    """A configuration problem (unknown job or plugin, no meltano.yml): exit 2."""


@dataclass
class Plan:
    """What `meltano run` will be asked to do, and the state ids it will write."""

    environment: str | None  # only when given on the command line; else Meltano decides
    blocks: list[str]
    state_ids: list[str]
    env: dict[str, str] = field(default_factory=dict)


def project_root() -> Path:
    root = os.environ.get("MELTANO_PROJECT_ROOT") or os.environ.get("PARTNERAPI_PROJECT_ROOT")
    start = Path(root) if root else Path.cwd()
    for candidate in (start, *start.parents):
        if (candidate / "meltano.yml").is_file():
            return candidate
    raise RunnerError(f"no meltano.yml in {start} or above (set MELTANO_PROJECT_ROOT)")


def lock_dir(root: Path) -> Path:
    """``PARTNERAPI_LOCK_DIR``, else next to Meltano's own run files (``MELTANO_SYS_DIR_ROOT``
    or ``<project>/.meltano``)."""
    explicit = os.environ.get("PARTNERAPI_LOCK_DIR")
    if explicit:
        return Path(explicit)
    sys_dir = os.environ.get("MELTANO_SYS_DIR_ROOT")
    return (Path(sys_dir) if sys_dir else root / ".meltano") / "run" / "partnerapi-locks"


def lock_path(directory: Path, state_id: str) -> Path:
    # State ids hold ':' (fine) and plugin names; anything else is replaced, the id stays readable.
    return directory / (re.sub(r"[^A-Za-z0-9_.:=-]", "_", state_id) + ".lock")


def plan(
    root: Path,
    blocks: Sequence[str],
    environment: str | None,
    state_id_suffix: str | None,
) -> Plan:
    """Expand schedules and jobs of meltano.yml into plugin blocks and pair each extractor with
    the loader after it, as `meltano run` does, to name the state ids the run will write."""
    import yaml  # the Meltano venv has it; kept local: the Airflow venv imports this module

    meltano_yml = yaml.safe_load((root / "meltano.yml").read_text()) or {}
    plugins = meltano_yml.get("plugins") or {}
    extractors = {p["name"] for p in plugins.get("extractors") or []}
    loaders = {p["name"] for p in plugins.get("loaders") or []}
    jobs = {j["name"]: j.get("tasks") or [] for j in meltano_yml.get("jobs") or []}
    schedules = {s["name"]: s for s in meltano_yml.get("schedules") or []}
    env_name = (
        environment
        or os.environ.get("MELTANO_ENVIRONMENT")
        or meltano_yml.get("default_environment")
    )

    extra_env: dict[str, str] = {}
    resolved: list[str] = []
    expanded: list[str] = []
    for block in blocks:
        if block in schedules and "job" in schedules[block]:
            # A schedule runs its job with its env, as `meltano schedule run` would.
            extra_env.update({k: str(v) for k, v in (schedules[block].get("env") or {}).items()})
            block = schedules[block]["job"]
        resolved.append(block)
        if block in jobs:
            for task in jobs[block]:
                expanded += task.split() if isinstance(task, str) else list(task)
        else:
            expanded.append(block)
    known = {p["name"] for kind in plugins.values() for p in kind or []}
    for name in expanded:
        if name.split(":", 1)[0] not in known:
            raise RunnerError(
                f"{name!r} is neither a job, a schedule nor a plugin of meltano.yml "
                f"(jobs: {', '.join(sorted(jobs))}; schedules: {', '.join(sorted(schedules))})"
            )

    state_ids: list[str] = []
    env_suffix = None
    for env in meltano_yml.get("environments") or []:
        if env.get("name") == env_name:
            env_suffix = env.get("state_id_suffix")
    suffix = state_id_suffix or env_suffix
    pending: str | None = None
    for name in expanded:
        if name in extractors:
            pending = name
        elif name in loaders and pending is not None:
            parts = [env_name, f"{pending}-to-{name}", suffix]
            state_ids.append(":".join(p for p in parts if p))
            pending = None
    return Plan(environment, resolved, sorted(set(state_ids)), extra_env)


def _holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        return "unknown holder"
    return text or "unknown holder"


def acquire(paths: Sequence[Path], wait_seconds: float) -> tuple[list[int], Path | None]:
    """Lock every path (sorted, so two runners never deadlock), waiting up to ``wait_seconds``.

    Returns the open descriptors, or ``([], busy_path)`` when one stayed busy. Waiting is a
    bounded poll for a live holder, not a guess about staleness: a dead holder has no lock.
    """
    deadline = time.monotonic() + wait_seconds
    fds: list[int] = []
    for path in sorted(paths):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    for held in fds:
                        os.close(held)
                    return [], path
                time.sleep(_POLL_SECONDS)
        fds.append(fd)
    return fds, None


def _note_holder(fd: int, command: Sequence[str]) -> None:
    """Who holds the lock, for the "skipped" line of the next runner (informative only)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} since {stamp}: {shlex.join(command)}\n".encode(), 0)


def meltano_command(base: Sequence[str], p: Plan, passthrough: Sequence[str]) -> list[str]:
    cmd = [*base]
    if p.environment:
        cmd.append(f"--environment={p.environment}")
    cmd.append("run")
    if p.state_ids:
        # --force only skips Meltano's "another pipeline is already running" check. We hold the
        # kernel lock of every state id this run writes, so no live run of ours writes them: a
        # job Meltano still shows as running belongs to a dead process (SIGKILL, OOM, lost
        # node), and waiting 5 minutes for its heartbeat to expire would only fail the run.
        cmd.append("--force")
    return [*cmd, *passthrough, *p.blocks]


def _become_subreaper() -> None:
    if sys.platform.startswith("linux"):
        # Best effort: without it, orphans of a killed Meltano are not waited for.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _supervise(cmd: list[str], env: dict[str, str], fds: list[int]) -> int:
    proc = subprocess.Popen(cmd, env=env, pass_fds=fds)

    def forward(signum: int, _frame: object) -> None:
        # A scheduler stopping the task signals the runner; Meltano shuts down its plugins.
        proc.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    rc = proc.wait()
    # Re-parented orphans (tap, loader) of a Meltano that was killed: wait until they are
    # gone, so the lock is never released while something of this run still writes.
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    if rc < 0:
        return 128 - rc
    # 75 means "skipped" to the schedulers: never let a Meltano failure look like it.
    return 1 if rc == SKIPPED_EXIT_CODE else rc


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="partnerapi-ops run",
        description="Run a Meltano job, schedule or block list under a per-state-id lock "
        "(docs/operations/running.md, 'Runs and the run lock'). Other options go to `meltano run`.",
    )
    parser.add_argument("blocks", nargs="+", help="job, schedule or plugin names")
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for a live run of the same state id (default 0: skip at once)",
    )
    parser.add_argument(
        "--skipped-exit-code",
        type=int,
        default=SKIPPED_EXIT_CODE,
        help=f"exit code when skipped (default {SKIPPED_EXIT_CODE}; 0 for cron)",
    )
    parser.add_argument("--environment", help="Meltano environment (else MELTANO_ENVIRONMENT)")
    parser.add_argument("--state-id-suffix", help="passed to meltano run; part of the lock")
    # `meltano run` options taking a value are declared so that their value is not read as a
    # block; its flags (--full-refresh, --no-state-update, ...) pass through as they are.
    for option in ("--timeout", "--run-id", "--state-strategy"):
        parser.add_argument(option, help="passed to meltano run")
    args, passthrough = parser.parse_known_args(argv)
    for option in ("state_id_suffix", "timeout", "run_id", "state_strategy"):
        if getattr(args, option):
            passthrough += [f"--{option.replace('_', '-')}", getattr(args, option)]
    base = shlex.split(
        os.environ.get("PARTNERAPI_MELTANO_CMD") or str(Path(sys.executable).with_name("meltano"))
    )
    try:
        root = project_root()
        p = plan(root, args.blocks, args.environment, args.state_id_suffix)
    except (RunnerError, OSError) as exc:
        print(f"partnerapi-ops run: {exc}", file=sys.stderr)
        return 2
    cmd = meltano_command(base, p, passthrough)
    directory = lock_dir(root)
    paths = [lock_path(directory, sid) for sid in p.state_ids]
    fds, busy = acquire(paths, args.wait)
    if busy is not None:
        print(
            f"partnerapi-ops run: skipped: {' '.join(args.blocks)}: state id "
            f"{busy.name.removesuffix('.lock')} is being written by a live run "
            f"({_holder(busy)}); exit {args.skipped_exit_code}",
            file=sys.stderr,
            flush=True,
        )
        return args.skipped_exit_code
    for fd in fds:
        _note_holder(fd, cmd)
    locked = ", ".join(p.state_ids) or "none (no extractor-loader pair)"
    print(f"partnerapi-ops run: locked {locked}: {shlex.join(cmd)}", file=sys.stderr, flush=True)
    _become_subreaper()
    env = {**os.environ, **p.env}
    try:
        return _supervise(cmd, env, fds)
    finally:
        for fd in fds:
            os.ftruncate(fd, 0)  # no stale "holder" line for the next reader
            os.close(fd)
