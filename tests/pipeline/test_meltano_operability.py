"""Through Meltano: with one resource forbidden by the vendor, the other seven streams'
records reach the warehouse and their bookmarks reach Meltano's state (the run fails); a
hand-edited bad bookmark and a select pattern naming no stream fail before anything is read,
each with one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb

from tap_partnerapi.schema import ID_FIELDS
from tests.support.meltano_fixtures import pipeline_env

ROOT = Path(__file__).resolve().parents[2]
MELTANO = str(Path(sys.executable).with_name("meltano"))
STATE_ID = "dev:tap-partnerapi-to-target-duckdb-bulk"


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MELTANO, "run", "tap-partnerapi", "target-duckdb-bulk"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)


def test_forbidden_resource_other_streams_loaded_and_state_saved(sandbox, tmp_path):
    sb = sandbox(seed=7, forbidden=["payments"])
    env = pipeline_env(tmp_path, sb.url)
    run = _run(env)
    assert run.returncode != 0
    assert "Stream payments failed" in run.stderr and "request_id=req_" in run.stderr
    with duckdb.connect(env["PARTNERAPI_DUCKDB_PATH"], read_only=True) as con:
        tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        ).fetchall()}
        if "payments" in tables:  # its SCHEMA message was sent before the 403
            assert con.execute("select count(*) from raw.payments").fetchone() == (0,)
        for resource, id_field in ID_FIELDS.items():
            if resource == "payments":
                continue
            ids = {r[0] for r in con.execute(
                f'select "{id_field}" from raw."{resource}"').fetchall()}
            assert ids == set(sb.truth(resource)), resource
    state = subprocess.run([MELTANO, "--environment=dev", "state", "get", STATE_ID],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert state.returncode == 0, state.stderr[-2000:]
    bookmarks = json.loads(state.stdout)["singer_state"]["bookmarks"]
    for resource in ID_FIELDS:
        if resource != "payments":
            assert bookmarks[resource]["replication_key_value"], resource
    assert "replication_key_value" not in bookmarks.get("payments", {})


def test_a_bad_hand_edited_bookmark_names_the_state_id_and_the_fix(sandbox, tmp_path):
    sb = sandbox(seed=7)
    env = pipeline_env(tmp_path, sb.url)
    bad = {"singer_state": {"bookmarks": {"plans": {"replication_key": "updated_at",
                                                    "replication_key_value": "02/12/2026"}}}}
    edit = subprocess.run([MELTANO, "--environment=dev", "state", "set", "--force", STATE_ID,
                           json.dumps(bad)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert edit.returncode == 0, edit.stderr[-2000:]
    run = _run(env)
    assert run.returncode != 0
    assert sb.counters()["pages"] == 0  # no stream was read
    line = next(x for x in run.stderr.splitlines() if "is not an RFC 3339 timestamp" in x)
    assert "Meltano state dev:tap-partnerapi-to-<loader>" in line
    assert "stream plans, key replication_key_value" in line and "02/12/2026" in line
    assert "meltano --environment=dev state edit" in line
    assert "Traceback" not in run.stderr


def test_a_select_naming_no_stream_fails_listing_the_valid_ones(sandbox, tmp_path):
    sb = sandbox(seed=7)
    env = pipeline_env(tmp_path, sb.url, TAP_PARTNERAPI__SELECT='["customerz.*"]')
    run = _run(env)
    assert run.returncode != 0
    assert sb.counters()["pages"] == 0
    assert "select pattern 'customerz.*'" in run.stderr
    assert "valid streams: coverage_ledger, customers" in run.stderr
