"""The vendor sandbox as its own process (`partnerapi-sandbox serve`), driven over its admin
API exactly as an operator would: the pipeline under test never shares memory with it."""

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
from pathlib import Path
from types import TracebackType
from typing import IO, Any

SANDBOX_BIN = str(Path(sys.executable).with_name("partnerapi-sandbox"))
STARTUP_TIMEOUT_S = 60


class SandboxProcess:
    """`with SandboxProcess(log, args) as sb: sb.admin("GET", "/_sandbox/clock")`."""

    def __init__(self, log: Path, serve_args: list[str]) -> None:
        self.log = log
        self.args = ["serve", "--port", "0", *serve_args]
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> SandboxProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        # Own session: stopping it by process group never touches anyone else's process.
        self.proc = subprocess.Popen(
            [SANDBOX_BIN, *self.args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, text=True, start_new_session=True,
            env={k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")},
        )
        lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._drain, args=(self.proc.stdout, lines),
                         daemon=True).start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        try:
            while not self.url:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"sandbox exited with {self.proc.returncode}; "
                                       f"see {self.log}")
                try:
                    line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
                except queue.Empty:
                    raise RuntimeError(f"sandbox not ready in {STARTUP_TIMEOUT_S} s; "
                                       f"see {self.log}") from None
                if line.startswith("SANDBOX_URL="):
                    self.url = line.strip().split("=", 1)[1].rstrip("/")
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _drain(self, stream: IO[str], lines: queue.Queue[str]) -> None:
        with self.log.open("w") as fh:
            for line in stream:
                fh.write(line)
                fh.flush()
                lines.put(line)

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

    # -- the admin API, named -------------------------------------------------------------

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

    def clock(self) -> str:
        return str(self.admin("GET", "/_sandbox/clock")["now"])

    def set_faults(self, preset: str) -> None:
        self.admin("POST", "/_sandbox/faults", {"preset": preset})

    def set_schema(self, mode: str) -> None:
        self.admin("POST", "/_sandbox/schema", {"mode": mode})

    def configure(self, **settings: float) -> None:
        self.admin("POST", "/_sandbox/config", settings)

    def touch(self, resource: str, lag_seconds: float) -> dict[str, str]:
        return self.admin("POST", "/_sandbox/touch",
                          {"resource": resource, "lag_seconds": lag_seconds})
