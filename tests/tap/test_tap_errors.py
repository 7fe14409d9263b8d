"""Known errors print one clear line; the traceback only at DEBUG. Secrets never printed."""

from __future__ import annotations

import pytest

from tap_partnerapi.tap import FATAL_EXIT_CODE
from tests.support.tap_fixtures import run_cli, tap_config


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "| ERROR" in line]


def _final_error(stderr: str) -> str:
    errors = [e for e in _errors(stderr) if "An unhandled error occurred" not in e]
    assert len(errors) == 1, stderr[-3000:]
    return errors[0]


def test_wrong_credentials_one_line(sandbox):
    sb = sandbox(seed=2)
    run = run_cli(tap_config(sb, client_secret="not-the-secret"), streams=["plans"])
    assert run.returncode == FATAL_EXIT_CODE
    line = _final_error(run.stderr)
    assert "client_id and client_secret" in line and "request_id=req_" in line
    assert "Traceback" not in run.stderr
    assert "not-the-secret" not in run.stderr
    # The full story is one setting away.
    debug = run_cli(tap_config(sb, client_secret="not-the-secret"), streams=["plans"],
                    env={"LOGLEVEL": "DEBUG"})
    assert debug.returncode == FATAL_EXIT_CODE
    assert "Traceback" in debug.stderr
    assert "not-the-secret" not in debug.stderr


@pytest.mark.parametrize("api_url", ["http://127.0.0.1:9", "https://api.partner.invalid"])
def test_unreachable_api_url_one_line(api_url):
    config = {"api_url": api_url, "client_id": "x", "client_secret": "s3cret-value",
              "environment": "production", "request_timeout": 1}
    run = run_cli(config, streams=["plans"])
    assert run.returncode == FATAL_EXIT_CODE
    line = _final_error(run.stderr)
    assert "Cannot reach the Partner API" in line and api_url.split("//")[1] in line
    assert "Traceback" not in run.stderr
    # Every line is a log record: no traceback or exception chain between them.
    assert all(line[:2] == "20" for line in run.stderr.splitlines()), run.stderr[-3000:]
    assert "s3cret-value" not in run.stderr


def test_bad_setting_one_line_naming_it(sandbox):
    sb = sandbox(seed=2)
    run = run_cli(tap_config(sb, page_size=0), streams=["plans"])
    assert run.returncode == FATAL_EXIT_CODE
    assert any("page_size: must be between 1 and 5000" in e for e in _errors(run.stderr))
    assert "Traceback" not in run.stderr
