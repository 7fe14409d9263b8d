"""The sandbox as its own process (`partnerapi-sandbox serve`), driven over its admin API.

The demo, the chaos harness and the benchmarks all run the vendor in a separate process, as
an operator would: the pipeline under test never shares memory (or, in the benchmarks, a CPU)
with it. This is the one driver they share.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from partnerapi_sandbox.webhook_push import SECRETS_ENV

SANDBOX_BIN = str(Path(sys.executable).with_name("partnerapi-sandbox"))


def loopback_env() -> dict[str, str]:
    """The caller's environment without proxies: the sandbox and its clients are loopback."""
    return {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}


class SandboxProcess:
    """``with SandboxProcess(log, seed=7, faults="mild") as sb: sb.advance(2)``.

    Each keyword is the ``serve`` option of the same name; one left ``None`` is not passed, so
    the sandbox's own default applies. ``port=0`` (the default here) lets it pick a free port:
    the URL is read from the ``SANDBOX_URL=`` line it prints once it serves. ``serve_args``
    are passed as they are, for the options without a keyword here.
    """

    def __init__(self, log: Path, *, seed: int | None = None, scale: str | None = None,
                 faults: str | None = None, port: int = 0, hang_seconds: float | None = None,
                 rate_limit_per_minute: int | None = None,
                 rate_limit_window_seconds: float | None = None,
                 token_lifetime_seconds: int | None = None,
                 max_retry_after_seconds: float | None = None, activity: float | None = None,
                 clients: Sequence[tuple[str, str]] = (), webhook_url: str | None = None,
                 webhook_secrets: Sequence[str] = (), serve_args: Sequence[str] = (),
                 env: dict[str, str] | None = None, startup_timeout: float = 60) -> None:
        options: dict[str, object | None] = {
            "--port": port, "--seed": seed, "--scale": scale, "--faults": faults,
            "--hang-seconds": hang_seconds, "--rate-limit-per-minute": rate_limit_per_minute,
            "--rate-limit-window-seconds": rate_limit_window_seconds,
            "--token-lifetime-seconds": token_lifetime_seconds,
            "--max-retry-after-seconds": max_retry_after_seconds, "--activity": activity,
            "--webhook-url": webhook_url}
        self.argv = [SANDBOX_BIN, "serve"]
        for flag, value in options.items():
            if value is not None:
                self.argv += [flag, str(value)]
        for client_id, secret in clients:
            self.argv += ["--client", f"{client_id}:{secret}"]
        self.argv += serve_args
        self.env = env
        if webhook_secrets:
            # The push loop's signing secrets travel in the environment, never on the
            # command line, where `ps` would show them.
            self.env = {**(loopback_env() if env is None else env),
                        SECRETS_ENV: ",".join(webhook_secrets)}
        self.log = log
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.started = 0.0
        self.build_seconds = 0.0
        self._lines: queue.Queue[str] = queue.Queue()

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the process (once); :meth:`wait_ready` blocks until it serves."""
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.log.parent.mkdir(parents=True, exist_ok=True)
        # Own session: stopping its process group never touches anyone else's process.
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, text=True, start_new_session=True,
            env=loopback_env() if self.env is None else self.env)
        assert self.proc.stdout is not None
        threading.Thread(target=self._drain, args=(self.proc.stdout,), daemon=True).start()
        self.started = time.monotonic()
        return self

    def wait_ready(self) -> Self:
        deadline = self.started + self.startup_timeout
        try:
            while not self.url:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise RuntimeError(f"sandbox exited with {self.proc.returncode}; "
                                       f"see {self.log}")
                try:
                    line = self._lines.get(timeout=max(0.1, deadline - time.monotonic()))
                except queue.Empty:
                    raise RuntimeError(f"sandbox printed no SANDBOX_URL within "
                                       f"{self.startup_timeout} s; see {self.log}") from None
                if line.startswith("SANDBOX_URL="):
                    self.url = line.strip().split("=", 1)[1].rstrip("/")
        except BaseException:
            self.stop()
            raise
        self.build_seconds = time.monotonic() - self.started
        return self

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Self:
        return self.start().wait_ready()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _drain(self, stream: IO[str]) -> None:
        with self.log.open("w") as fh:
            for line in stream:
                fh.write(line)
                fh.flush()
                self._lines.put(line)

    # -- the admin API ---------------------------------------------------------------------

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Content-Type": "application/json"} if data else {})
        # Loopback only: never through a proxy the environment may configure.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=120) as resp:
            payload = resp.read()
        return json.loads(payload) if payload else {}

    def advance(self, hours: float) -> dict[str, Any]:
        return self.admin("POST", "/_sandbox/advance", {"hours": hours})

    def truth(self, resource: str) -> dict[str, dict[str, Any]]:
        return self.admin("GET", f"/_sandbox/truth/{resource}")

    def deleted(self, resource: str) -> set[str]:
        return set(self.admin("GET", f"/_sandbox/deleted/{resource}"))

    def pending(self, resource: str) -> dict[str, list[dict[str, Any]]]:
        return self.admin("GET", f"/_sandbox/pending/{resource}")

    def counters(self) -> dict[str, Any]:
        return self.admin("GET", "/_sandbox/counters")

    def requests(self) -> int:
        """Requests the sandbox has answered so far (all clients)."""
        return int(self.counters().get("requests", 0))

    def clock(self) -> str:
        return str(self.admin("GET", "/_sandbox/clock")["now"])

    def set_faults(self, preset: str) -> None:
        self.admin("POST", "/_sandbox/faults", {"preset": preset})

    def set_schema(self, mode: str) -> None:
        self.admin("POST", "/_sandbox/schema", {"mode": mode})

    def add_field(self, resource: str, name: str, kind: str) -> None:
        """A new top-level field appears on every record of ``resource`` from now on."""
        self.admin("POST", "/_sandbox/fields", {"resource": resource, "name": name,
                                                "kind": kind})

    def configure(self, **settings: float) -> None:
        self.admin("POST", "/_sandbox/config", settings)

    def touch(self, resource: str, lag_seconds: float) -> dict[str, str]:
        return self.admin("POST", "/_sandbox/touch",
                          {"resource": resource, "lag_seconds": lag_seconds})
