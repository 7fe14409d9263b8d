"""`partnerapi-ops run`: a killed run never blocks the next one, overlapping runs never write at
once (the second is "skipped", exit 75), against real Meltano, the sandbox and DuckDB.

The first tests SIGKILL a real `meltano run incremental` mid-sync (its whole process group, as
a lost node or a task timeout does) and run the job again at once. The last ones check the
lock's kernel semantics with a stand-in for Meltano (PARTNERAPI_MELTANO_CMD), which costs no
CPU: a held lock skips, a waiting runner proceeds when the holder exits, and a runner killed
alone leaves the lock held by its Meltano child.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from partnerapi_ops.runner import SKIPPED_EXIT_CODE, lock_path
from partnerapi_sandbox import Sandbox
from tap_partnerapi.schema import ID_FIELDS, RESOURCE_PROPERTIES
from tests.support.meltano_fixtures import ROOT, pipeline_env

BIN = Path(sys.executable).parent
MELTANO = str(BIN / "meltano")
OPS = str(BIN / "partnerapi-ops")
STATE_ID = "dev:tap-partnerapi-to-target-duckdb-bulk"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(seed=11, scale="small", faults="off", environment="sandbox")
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


def run(cmd: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def assert_raw_matches_the_vendor(sandbox: Sandbox, env: dict[str, str]) -> None:
    with duckdb.connect(env["PARTNERAPI_DUCKDB_PATH"], read_only=True) as con:
        for resource in RESOURCE_PROPERTIES:
            id_field = ID_FIELDS[resource]
            rows = con.execute(f'select "{id_field}", _pa_version from raw."{resource}"').fetchall()
            assert len(rows) == len(set(rows)), f"duplicate raw rows in {resource}"
            assert {r[0] for r in rows} == set(sandbox.truth(resource)), resource


def wait_for_requests(sandbox: Sandbox, proc: subprocess.Popen, at_least: int) -> None:
    start = sandbox.counters()["requests"]
    deadline = time.monotonic() + 120
    while sandbox.counters()["requests"] - start < at_least:
        assert proc.poll() is None, "the run ended before it could be killed mid-sync"
        assert time.monotonic() < deadline, "the run made no requests"
        time.sleep(0.2)


def test_a_run_killed_mid_sync_never_blocks_the_next_run(sandbox: Sandbox, tmp_path: Path) -> None:
    # Paced (2 requests/s, small pages) so that the kill lands in the middle of the sync.
    env = pipeline_env(
        tmp_path,
        sandbox.url,
        TAP_PARTNERAPI_PAGE_SIZE="50",
        TAP_PARTNERAPI_REQUESTS_PER_MINUTE="120",
    )
    victim = subprocess.Popen(
        [MELTANO, "run", "incremental"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for_requests(sandbox, victim, at_least=6)
    os.killpg(victim.pid, signal.SIGKILL)  # meltano, tap, loader: no cleanup of any kind
    victim.wait()

    # What the schedule met before: Meltano still shows the dead job as running.
    plain = run([MELTANO, "run", "incremental"], env, timeout=120)
    assert plain.returncode == 1 and "already running" in plain.stderr, plain.stderr[-2000:]

    fast = {**env, "TAP_PARTNERAPI_REQUESTS_PER_MINUTE": "1000"}
    rerun = run([OPS, "run", "incremental"], fast)
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    assert f"locked {STATE_ID}" in rerun.stderr
    assert_raw_matches_the_vendor(sandbox, env)
    state = run([MELTANO, "state", "get", STATE_ID], env, timeout=120)
    assert state.returncode == 0 and '"bookmarks"' in state.stdout, state.stderr[-2000:]

    # The runner killed the same way (its process group) leaves nothing behind either.
    victim = subprocess.Popen(
        [OPS, "run", "incremental"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for_requests(sandbox, victim, at_least=3)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    again = run([OPS, "run", "incremental"], fast)
    assert again.returncode == 0, again.stderr[-4000:]
    assert_raw_matches_the_vendor(sandbox, env)


def test_two_runs_started_together_one_works_the_other_is_skipped(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = pipeline_env(tmp_path, sandbox.url)
    logs = [tmp_path / f"runner{i}.log" for i in range(2)]
    procs = []
    for log in logs:
        with log.open("w") as out:  # files, not pipes: Meltano's log would fill a pipe
            procs.append(
                subprocess.Popen([OPS, "run", "incremental"], cwd=ROOT, env=env, stderr=out)
            )
    results = [(p.wait(timeout=600), log.read_text()) for p, log in zip(procs, logs, strict=True)]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, SKIPPED_EXIT_CODE], [err[-2000:] for _, err in results]
    skipped = next(err for rc, err in results if rc == SKIPPED_EXIT_CODE)
    assert f"skipped: incremental: state id {STATE_ID} is being written by a live run" in skipped
    assert "already running" not in skipped, "the skipped run must not have reached Meltano"
    assert_raw_matches_the_vendor(sandbox, env)


# --- the lock itself, with a stand-in for Meltano ------------------------------------------

STUB = """#!/bin/sh
echo "$@" >> "$STUB_CALLS"
sleep "${STUB_SLEEP:-0}"
"""


@pytest.fixture
def stub_env(tmp_path: Path) -> dict[str, str]:
    script = tmp_path / "meltano_stub.sh"
    script.write_text(STUB)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MELTANO_", "PARTNERAPI_"))}
    return {
        **env,
        "PARTNERAPI_MELTANO_CMD": str(script),
        "PARTNERAPI_LOCK_DIR": str(tmp_path / "locks"),
        "STUB_CALLS": str(tmp_path / "calls"),
    }


def held_by_flock(path: Path, seconds: float) -> subprocess.Popen:
    """util-linux flock(1) holds the lock: any flock holder counts, not only our runner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # -o: the lock stays with flock itself, not its `sleep` child: killing flock drops it.
    holder = subprocess.Popen(["flock", "-o", str(path), "sleep", str(seconds)])
    deadline = time.monotonic() + 10
    while subprocess.run(["flock", "-n", str(path), "true"]).returncode == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return holder


def calls(env: dict[str, str]) -> list[str]:
    path = Path(env["STUB_CALLS"])
    return path.read_text().splitlines() if path.exists() else []


def test_a_schedule_resolves_to_its_job_and_a_held_lock_skips_it(
    stub_env: dict[str, str],
) -> None:
    path = lock_path(Path(stub_env["PARTNERAPI_LOCK_DIR"]), STATE_ID)
    holder = held_by_flock(path, 30)
    try:
        skipped = run([OPS, "run", "incremental-every-5-min"], stub_env, timeout=60)
        assert skipped.returncode == SKIPPED_EXIT_CODE, skipped.stderr
        assert "skipped" in skipped.stderr and calls(stub_env) == []
        for_cron = run(
            [OPS, "run", "--skipped-exit-code", "0", "incremental-every-5-min"], stub_env, 60
        )
        assert for_cron.returncode == 0 and "skipped" in for_cron.stderr
    finally:
        holder.kill()
        holder.wait()
    # Holder gone (killed: the kernel released its lock): the schedule's job runs, forced.
    ok = run([OPS, "run", "incremental-every-5-min"], stub_env, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert calls(stub_env) == ["run --force incremental"]


def test_a_waiting_run_proceeds_when_the_live_one_ends(stub_env: dict[str, str]) -> None:
    path = lock_path(Path(stub_env["PARTNERAPI_LOCK_DIR"]), STATE_ID)
    holder = held_by_flock(path, 2)
    started = time.monotonic()
    waited = run([OPS, "run", "--wait", "60", "incremental"], stub_env, timeout=90)
    assert waited.returncode == 0, waited.stderr
    assert holder.wait() == 0 and time.monotonic() - started >= 1
    assert calls(stub_env) == ["run --force incremental"]


def test_killing_the_runner_alone_leaves_the_lock_with_its_meltano(
    stub_env: dict[str, str],
) -> None:
    env = {**stub_env, "STUB_SLEEP": "4"}
    runner = subprocess.Popen([OPS, "run", "incremental"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while not calls(env):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    runner.kill()  # only the runner: its Meltano (the stub, sleeping) lives on
    runner.wait()
    second = run([OPS, "run", "incremental"], stub_env, timeout=60)
    assert second.returncode == SKIPPED_EXIT_CODE, "a live Meltano must keep the lock"
    waited = run([OPS, "run", "--wait", "30", "incremental"], stub_env, timeout=60)
    assert waited.returncode == 0, waited.stderr


def test_a_different_state_id_suffix_is_a_different_lock(stub_env: dict[str, str]) -> None:
    root_locks = Path(stub_env["PARTNERAPI_LOCK_DIR"])
    held = lock_path(root_locks, "dev:tap-partnerapi--backfill-to-target-duckdb-bulk:w1")
    holder = held_by_flock(held, 30)
    try:
        other = run(
            [OPS, "run", "--state-id-suffix", "w2", "tap-partnerapi--backfill",
             "target-duckdb-bulk"],
            stub_env,
            timeout=60,
        )
        assert other.returncode == 0, other.stderr
        same = run(
            [OPS, "run", "--state-id-suffix", "w1", "tap-partnerapi--backfill",
             "target-duckdb-bulk"],
            stub_env,
            timeout=60,
        )
        assert same.returncode == SKIPPED_EXIT_CODE
    finally:
        holder.kill()
        holder.wait()


def test_an_unknown_job_is_a_clear_error(stub_env: dict[str, str]) -> None:
    proc = run([OPS, "run", "incrementl"], stub_env, timeout=60)
    assert proc.returncode == 2
    assert "'incrementl' is neither a job, a schedule nor a plugin" in proc.stderr
    assert "incremental" in proc.stderr and calls(stub_env) == []
