"""Run the receiver as a real uvicorn subprocess (tests, bench, demos): start, wait, stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from partnerapi_webhooks.config import PREFIX

# Loopback only: an http_proxy in the environment must not capture these requests.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ReceiverProcess:
    """``with ReceiverProcess(workdir, secrets=["s"]) as r: r.url, r.webhook_url``."""

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        *,
        secrets: list[str],
        environment: str = "sandbox",
        extra_env: Mapping[str, str] | None = None,
        startup_timeout: float = 20.0,
        port: int = 0,
    ) -> None:
        self.workdir = Path(workdir)
        self.landing = self.workdir / "landing"
        self.state_db = self.workdir / "state.sqlite"
        self.env = {
            **os.environ,
            PREFIX + "ENVIRONMENT": environment,
            PREFIX + "SECRETS": ",".join(secrets),
            PREFIX + "LANDING": str(self.landing),
            PREFIX + "STATE_DB": str(self.state_db),
            **(extra_env or {}),
        }
        self.startup_timeout = startup_timeout
        self.port = port
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.log_path = self.workdir / "receiver.log"

    @property
    def webhook_url(self) -> str:
        return self.url + self.env.get(PREFIX + "PATH", "/webhooks/partnerapi")

    def start(self) -> ReceiverProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "a")  # noqa: SIM115 - owned by the child for its lifetime
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "partnerapi_webhooks.cli", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        log.close()
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("WEBHOOKS_URL="):
            self.stop()
            raise RuntimeError(f"receiver did not start: {line!r}; see {self.log_path}")
        self.url = line.split("=", 1)[1]
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                if self.health()["status"] == "ok":
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"receiver not healthy; see {self.log_path}")
            time.sleep(0.05)

    def _get(self, path: str) -> bytes:
        with _NO_PROXY.open(self.url + path, timeout=5) as response:
            return response.read()

    def health(self) -> dict[str, str]:
        return json.loads(self._get("/healthz"))

    def metrics(self) -> str:
        return self._get("/metrics").decode()

    def wait_exit(self, timeout: float = 10.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush — what an OOM kill or a lost host looks like."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self) -> ReceiverProcess:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
