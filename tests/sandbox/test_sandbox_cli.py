"""`partnerapi-sandbox serve` for humans: prints its URL, serves, explains every knob."""

from __future__ import annotations

import subprocess
import sys

import requests


def test_help_explains_every_knob():
    out = subprocess.run([sys.executable, "-m", "partnerapi_sandbox.cli", "serve", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for knob in ("--port", "--seed", "--scale", "--faults", "--fault", "--environment",
                 "--rate-limit-per-minute", "--token-lifetime-seconds", "--start-time",
                 "--schema-mode", "--hang-seconds", "--max-retry-after-seconds", "--activity",
                 "--client", "partial_page", "truncated_body", "/_sandbox/"):
        assert knob in out, knob


def test_serve_prints_url_and_answers():
    proc = subprocess.Popen([sys.executable, "-m", "partnerapi_sandbox.cli", "serve", "--port", "0",
                             "--seed", "3", "--faults", "off", "--environment", "production"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("SANDBOX_URL=http://127.0.0.1:")
        url = line.split("=", 1)[1]
        config = requests.get(f"{url}/_sandbox/config", timeout=10).json()
        assert (config["seed"], config["environment"]) == (3, "production")
        r = requests.post(f"{url}/oauth/token", timeout=10,
                          data={"grant_type": "client_credentials"},
                          auth=("demo-client", "demo-secret"))
        assert r.status_code == 200
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
