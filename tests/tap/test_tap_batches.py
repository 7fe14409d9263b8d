"""BATCH mode (``batch_config``, jsonl.gz): the files hold exactly the records and end at
page boundaries, a STATE is never ahead of the BATCH files and ledger rows before it, and a
run killed between files converges when run again from its last STATE."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path
from urllib.parse import urlparse

from tests.support.tap_fixtures import TAP_BIN, _dump, run_tap, select, tap_config

STREAMS = ["invoices", "events", "coverage_ledger"]


def _batch_config(folder: Path, batch_size: int = 250) -> dict:
    return {"encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": f"file://{folder}", "prefix": "backfill-"},
            "batch_size": batch_size}


def _file_records(manifest: list[str]) -> list[dict]:
    out = []
    for url in manifest:
        with gzip.open(urlparse(url).path, "rt") as f:
            out += [json.loads(line) for line in f]
    return out


def _check_states_follow_files(messages: list[dict], truth: dict[str, dict]) -> int:
    """Every STATE: every source record older than its bookmark is in a file announced
    before it, and the ledger rows before it cover up to the bookmark."""
    in_files: dict[str, set[str]] = {s: set() for s in truth}
    covered: dict[str, str] = {}
    checked = 0
    for m in messages:
        if m["type"] == "BATCH":
            ids = in_files[m["stream"]]
            ids.update(r.get("id") or r.get("event_id") for r in _file_records(m["manifest"]))
        elif m["type"] == "RECORD" and m["stream"] == "coverage_ledger":
            row = m["record"]
            covered[row["stream"]] = max(covered.get(row["stream"], ""), row["covered_to"])
        elif m["type"] == "STATE":
            for stream, records in truth.items():
                bookmark = m["value"]["bookmarks"].get(stream, {}).get("replication_key_value")
                if not bookmark:
                    continue
                older = {k for k, r in records.items() if r["updated_at"] < bookmark}
                assert older <= in_files[stream], f"{stream}: STATE ahead of its files"
                assert covered.get(stream, "") >= bookmark, f"{stream}: STATE ahead of ledger"
                checked += 1
    return checked


def test_files_hold_exactly_the_records_and_states_follow_them(sandbox, tmp_path):
    sb = sandbox(seed=11)
    truth = {s: sb.truth(s) for s in ("invoices", "events")}
    batched = run_tap(tap_config(sb, page_size=100, batch_config=_batch_config(tmp_path)),
                      streams=STREAMS)
    plain = run_tap(tap_config(sb, page_size=100), streams=STREAMS)

    assert not batched.records("invoices") and not batched.records("events")
    assert _check_states_follow_files(batched.messages, truth) > 20
    for stream, id_field in (("invoices", "id"), ("events", "event_id")):
        batches = [m for m in batched.messages if m["type"] == "BATCH" and m["stream"] == stream]
        assert len(batches) > 2  # several files: the boundaries were exercised
        in_files = [r for m in batches for r in _file_records(m["manifest"])]
        # Exactly the records of the RECORD path: same versions, none twice, none missing.
        keys = sorted((r[id_field], r["_pa_version"]) for r in in_files)
        assert keys == sorted((r[id_field], r["_pa_version"]) for r in plain.records(stream))
        assert {r[id_field] for r in in_files} == set(truth[stream])
        ledger = [r for r in batched.records("coverage_ledger") if r["stream"] == stream]
        assert sum(r["records"] for r in ledger) == len(in_files)
        # Files end where pages end, at the first page boundary past batch_size (250).
        sizes = [len(_file_records(m["manifest"])) for m in batches]
        assert all(n == 300 for n in sizes[:-1]) and 0 < sizes[-1] <= 300, sizes
        # The standard layout: raw records, one JSON object per line, named by the SDK.
        assert all(urlparse(u).path.startswith(str(tmp_path / "backfill-"))
                   for m in batches for u in m["manifest"])
    assert batched.state["bookmarks"]["events"] == plain.state["bookmarks"]["events"]


def _run_killed_after_batches(config: dict, state: dict | None, kill_after: int | None,
                              tmp: Path) -> list[dict]:
    args = [TAP_BIN, "--config", _dump(str(tmp), "config.json", config),
            "--catalog", _dump(str(tmp), "catalog.json", select(STREAMS))]
    if state is not None:
        args += ["--state", _dump(str(tmp), "state.json", state)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    messages: list[dict] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        messages.append(json.loads(line))
        if kill_after is not None and sum(m["type"] == "BATCH" for m in messages) >= kill_after:
            proc.kill()  # SIGKILL right after a BATCH message, before its commits
            break
    proc.wait(timeout=120)
    return messages


def test_a_run_killed_between_files_converges_when_run_again(sandbox, tmp_path):
    sb = sandbox(seed=12)
    config = tap_config(sb, page_size=100, batch_config=_batch_config(tmp_path / "files"),
                        start_date="2020-01-01T00:00:00Z", end_date="2030-01-01T00:00:00Z",
                        partition_days=3650)
    first = _run_killed_after_batches(config, None, 5, tmp_path)
    states = [m["value"] for m in first if m["type"] == "STATE"]
    truth = {s: sb.truth(s) for s in ("invoices", "events")}
    _check_states_follow_files(first, truth)
    second = _run_killed_after_batches(config, states[-1] if states else None, None, tmp_path)
    _check_states_follow_files(second, truth)

    # What a loader sees: the files named by BATCH messages of both runs, upserted by
    # (id, _pa_version); a file written but never announced is never read.
    for stream, id_field in (("invoices", "id"), ("events", "event_id")):
        loaded: dict[str, dict] = {}
        for m in first + second:
            if m["type"] == "BATCH" and m["stream"] == stream:
                for r in _file_records(m["manifest"]):
                    if r[id_field] not in loaded or r["updated_at"] >= loaded[r[id_field]][
                            "updated_at"]:
                        loaded[r[id_field]] = r
        assert set(loaded) == set(truth[stream])
        wrong = {k: (loaded[k]["updated_at"], v["updated_at"]) for k, v in truth[stream].items()
                 if loaded[k]["updated_at"] != v["updated_at"]}
        assert not wrong, list(wrong.items())[:3]


def test_the_backfill_plugin_writes_batch_files_through_meltano(sandbox, tmp_path):
    from tests.support.meltano_fixtures import ROOT, pipeline_env

    sb = sandbox(seed=14)
    env = pipeline_env(tmp_path, sb.url,
                       TAP_PARTNERAPI__BACKFILL_START_DATE="2020-01-01T00:00:00Z",
                       TAP_PARTNERAPI__BACKFILL_END_DATE="2030-01-01T00:00:00Z",
                       TAP_PARTNERAPI__BACKFILL_PARTITION_DAYS="3650")
    proc = subprocess.run([str(ROOT / ".venv/bin/meltano"), "invoke", "tap-partnerapi--backfill"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    batches = [m for m in messages if m["type"] == "BATCH"]
    try:
        assert {m["stream"] for m in batches} >= {"invoices", "events", "customers"}
        assert not [m for m in messages if m["type"] == "RECORD" and m["stream"] == "events"]
        assert all(m["encoding"] == {"format": "jsonl", "compression": "gzip"} for m in batches)
        events = [r for m in batches if m["stream"] == "events"
                  for r in _file_records(m["manifest"])]
        assert {r["event_id"] for r in events} == set(sb.truth("events"))
        assert all(urlparse(u).path.startswith(str(ROOT / "output" / "batches" / "backfill-"))
                   for m in batches for u in m["manifest"])
    finally:
        for m in batches:
            for url in m["manifest"]:
                Path(urlparse(url).path).unlink(missing_ok=True)
