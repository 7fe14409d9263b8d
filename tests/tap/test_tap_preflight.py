"""Before any stream syncs: the state's bookmarks and the stream selection are checked, and a
problem is one line naming where the state is, the stream, the key, the value and the fix."""

from __future__ import annotations

import pytest

from tests.support.tap_fixtures import run_cli, tap_config

GOOD = "2026-01-01T00:00:00.000000Z"
STREAMS = ["customers", "plans", "refunds"]


def _records(run) -> list:
    return [m for m in run.messages if m["type"] == "RECORD"]


@pytest.mark.parametrize(("bookmark", "key"), [
    ({"replication_key": "updated_at", "replication_key_value": "02/12/2026"},
     "replication_key_value"),
    ({"partitions": [{"context": {"_pa_window_start": GOOD, "_pa_window_end": GOOD},
                      "replication_key_value": "02/12/2026"}]},
     "partitions[0].replication_key_value"),
])
def test_a_bad_bookmark_stops_the_run_before_any_stream(sandbox, bookmark, key):
    sb = sandbox(seed=2)
    state = {"bookmarks": {"customers": {"replication_key": "updated_at",
                                         "replication_key_value": GOOD},
                           "plans": bookmark}}
    run = run_cli(tap_config(sb), streams=STREAMS, state=state)
    assert run.returncode == 1
    assert _records(run) == []  # customers syncs first: it did not start
    assert sb.counters()["pages"] == 0
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, run.stderr[-2000:]
    line = errors[0]
    assert "state file" in line and "state.json" in line
    assert "stream plans" in line and f"key {key}" in line and '"02/12/2026"' in line
    assert "Traceback" not in run.stderr


def test_under_meltano_the_message_names_the_state_id_and_the_command(sandbox):
    sb = sandbox(seed=2)
    state = {"bookmarks": {"plans": {"replication_key_value": "yesterday"}}}
    env = {"MELTANO_EXTRACTOR_NAME": "tap-partnerapi", "MELTANO_ENVIRONMENT": "dev"}
    run = run_cli(tap_config(sb), streams=STREAMS, state=state, env=env)
    assert run.returncode == 1
    assert "Meltano state dev:tap-partnerapi-to-<loader>" in run.stderr
    assert "meltano --environment=dev state edit" in run.stderr
    assert "meltano --environment=dev state list" in run.stderr


def test_a_corrupt_state_file_says_it_is_the_state(sandbox):
    sb = sandbox(seed=2)
    text = '{"bookmarks": {"plans": {"replication_key_value": "2026-01-01\n"}}}'
    run = run_cli(tap_config(sb), streams=STREAMS, state_text=text)
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "The tap's state (state file" in errors[0], run.stderr
    assert "not valid JSON" in errors[0]
    assert "Traceback" not in run.stderr


def test_a_select_pattern_naming_no_stream_is_an_error_listing_the_valid_ones(sandbox):
    sb = sandbox(seed=2)
    env = {"MELTANO_EXTRACT__SELECT": '["customerz.*"]'}
    run = run_cli(tap_config(sb), streams=STREAMS, env=env)
    assert run.returncode == 1
    assert "select pattern 'customerz.*'" in run.stderr
    assert "valid streams: " in run.stderr and "customers, events" in run.stderr
    assert _records(run) == []


def test_selecting_no_data_stream_is_an_error(sandbox):
    sb = sandbox(seed=2)
    run = run_cli(tap_config(sb), streams=["quarantine", "schema_drift"])
    assert run.returncode == 1
    assert "no stream is selected" in run.stderr and "customers" in run.stderr


def test_a_good_state_and_selection_pass(sandbox):
    sb = sandbox(seed=2)
    state = {"bookmarks": {"plans": {"replication_key": "updated_at",
                                     "replication_key_value": "2020-01-01T00:00:00Z"}}}
    env = {"MELTANO_EXTRACT__SELECT": '["plans.*", "!customers.email"]'}
    run = run_cli(tap_config(sb), streams=["plans"], state=state, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert len([m for m in _records(run) if m["stream"] == "plans"]) == len(sb.truth("plans"))
