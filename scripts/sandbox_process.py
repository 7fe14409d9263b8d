"""The vendor sandbox as a background process (`partnerapi-sandbox serve`), driven through
its admin API. Used by the demo; stopped on exit whatever happens (context manager)."""

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

SANDBOX = str(Path(sys.executable).with_name("partnerapi-sandbox"))
STARTUP_TIMEOUT_S = 60


class SandboxProcess:
    def __init__(
        self,
        log: Path,
        *,
        seed: int = 7,
        scale: str = "small",
        faults: str = "mild",
        port: int = 0,  # 0: the sandbox picks a free port and prints it
        hang_seconds: float | None = None,
    ) -> None:
        self.log = log
        self.args = [
            "serve",
            "--port",
            str(port),
            "--seed",
            str(seed),
            "--scale",
            scale,
            "--faults",
            faults,
        ]
        if hang_seconds is not None:
            self.args += ["--hang-seconds", str(hang_seconds)]
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> SandboxProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        # Own process group, so that stopping it also stops anything it spawned.
        self.proc = subprocess.Popen(
            [SANDBOX, *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._drain, args=(self.proc.stdout, lines), daemon=True).start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        try:
            while not self.url:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"sandbox exited with {self.proc.returncode}; see {self.log}"
                    )
                try:
                    line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
                except queue.Empty:
                    raise RuntimeError(
                        f"sandbox printed no SANDBOX_URL within "
                        f"{STARTUP_TIMEOUT_S} s; see {self.log}"
                    ) from None
                if line.startswith("SANDBOX_URL="):
                    self.url = line.strip().split("=", 1)[1].rstrip("/")
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data else {},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            payload = resp.read()
        return json.loads(payload) if payload else {}

    def requests(self) -> int:
        return int(self.admin("GET", "/_sandbox/counters").get("requests", 0))
