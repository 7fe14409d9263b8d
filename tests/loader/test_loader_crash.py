"""SIGKILL mid-load: no half batch is ever visible, no STATE ran ahead of the rows it
covers, and re-running the same input converges to the rows of an uninterrupted load."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from tests.loader.loader_fixtures import (
    LOADER_BIN,
    SCHEMA_V2,
    loader_config,
    record_messages,
    record_v2,
    rows,
    schema_message,
    singer_text,
    state_message,
    table,
)

N, BATCH = 24_000, 2_000


@pytest.fixture(scope="module")
def singer_input(tmp_path_factory) -> str:
    messages = [schema_message("events", SCHEMA_V2)]
    for start in range(0, N, 1_000):
        messages += record_messages("events", [record_v2(i) for i in range(start, start + 1_000)])
        messages.append(state_message({"bookmarks": {"events": {"n": start + 1_000}}}))
    return singer_text(messages)


def _kill_after_drains(tmp_path, db, text: str, drains: int) -> list[dict]:
    """Run the loader and SIGKILL it right after its ``drains``-th batch-full drain (the
    batch then loads on the worker thread: the kill lands mid-load). Returns the STATE
    messages it emitted before dying."""
    config = loader_config(tmp_path, db, batch_size_rows=BATCH, memory_limit="256MB")
    err_path, out_path = tmp_path / "kill.err", tmp_path / "kill.out"
    with err_path.open("wb") as err, out_path.open("wb") as out:
        proc = subprocess.Popen([str(LOADER_BIN), "--config", str(config)],
                                stdin=subprocess.PIPE, stdout=out, stderr=err)
        assert proc.stdin is not None
        try:
            proc.stdin.write(text.encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if err_path.read_bytes().count(b"is full") >= drains:
                break
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the loader finished before it was killed"
    return [json.loads(line) for line in out_path.read_text().splitlines() if line.strip()]


def test_sigkill_mid_load_then_rerun_converges(tmp_path, singer_input) -> None:
    clean = tmp_path / "clean.duckdb"
    subprocess.run([str(LOADER_BIN), "--config",
                    str(loader_config(tmp_path, clean, batch_size_rows=BATCH))],
                   input=singer_input, text=True, capture_output=True, check=True, timeout=300)
    expected = table(clean, "events")
    assert len(expected) == N

    partial = []
    for drains in (1, 4, 8):
        db = tmp_path / f"killed-{drains}.duckdb"
        states = _kill_after_drains(tmp_path, db, singer_input, drains)
        count = rows(db, "SELECT count(*) FROM raw.events")[0][0] if db.exists() else 0
        assert count % BATCH == 0, f"a half batch is visible: {count} rows"
        for state in states:  # a STATE only ever follows the commit of what it covers
            assert state["bookmarks"]["events"]["n"] <= count
        partial.append(count)
        subprocess.run([str(LOADER_BIN), "--config",
                        str(loader_config(tmp_path, db, batch_size_rows=BATCH))],
                       input=singer_input, text=True, capture_output=True, check=True,
                       timeout=300)
        assert table(db, "events") == expected
    assert any(0 < c < N for c in partial), f"no kill landed mid-run: {partial}"
