"""Helpers for the ops tests: a loopback webhook receiver, a brownout gate in front of the
sandbox, and the Airflow virtualenv runner."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_VENV = ROOT / "orchestrate" / ".venv"
DAGS = ROOT / "orchestrate" / "dags"


class WebhookReceiver:
    """Collects the JSON bodies POSTed to it; answers `status` (set 500 to play a dead Slack)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.status == 200:
                    receiver.posts.append(json.loads(body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[tuple[str, str]]:
        return [(p["partnerapi"]["event"], p["partnerapi"]["key"]) for p in self.posts]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    try:
        yield r
    finally:
        r.stop()


class BrownoutGate:
    """A loopback reverse proxy in front of the sandbox that answers 503 while `down`.

    The sandbox's own fault injection lets every repeated request through (each fault is
    recoverable by contract), so it cannot hold an outage over a whole run; a vendor brownout
    does exactly that. Everything else is forwarded byte for byte, headers included.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.down = False
        self.rejected = 0
        self.upstream_errors: list[str] = []
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                # The token endpoint stays up: retries on the listing are what a brownout
                # costs, and what the run summary counts (`retries.http_5xx`).
                if gate.down and self.path.startswith("/v1/"):
                    gate.rejected += 1
                    body = json.dumps(
                        {"error": {"type": "api_error", "message": "brownout", "request_id": "x"}}
                    ).encode()
                    self.send_response(503)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("X-Request-Id", "req_brownout")
                    self.end_headers()
                    self.wfile.write(body)
                    return
                length = int(self.headers.get("Content-Length", 0))
                data = self.rfile.read(length) if length else None
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                }
                req = urllib.request.Request(
                    gate.upstream + self.path, data=data, headers=headers, method=self.command
                )
                try:
                    resp = urllib.request.urlopen(req, timeout=30)
                except urllib.error.HTTPError as err:
                    resp = err
                except OSError as err:  # upstream unreachable: answer as a gateway would
                    gate.upstream_errors.append(f"{self.command} {self.path}: {err!r}")
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = resp.read()
                # send_response_only: no Date/Server of the proxy's own, the sandbox's Date
                # (its simulated clock) must reach the tap alone.
                self.send_response_only(resp.status)
                for k, v in resp.headers.items():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _forward

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for the Airflow CLI in its own venv, with a throwaway AIRFLOW_HOME."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "PARTNERAPI_", "VIRTUAL_ENV", "PYTHONPATH"))
    }
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        PATH=f"{AIRFLOW_VENV / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
    )
    env.update(extra)
    return env


def airflow(
    args: list[str], env: dict[str, str], timeout: float = 300, cwd: Path = ROOT
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(AIRFLOW_VENV / "bin" / "airflow"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def airflow_python(code: str, env: dict[str, str], timeout: float = 120) -> Any:
    """Run `code` in the Airflow venv; it must print one JSON document last."""
    proc = subprocess.run(
        [str(AIRFLOW_VENV / "bin" / "python"), "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
