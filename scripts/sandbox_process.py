"""The vendor sandbox as a background process for the demo, stopped on exit whatever
happens (context manager); the driver itself is ``partnerapi_sandbox.process``."""

from __future__ import annotations

from pathlib import Path

from partnerapi_sandbox.process import SandboxProcess as _Driver
from partnerapi_sandbox.process import loopback_env
from partnerapi_sandbox.webhook_push import SECRETS_ENV


class SandboxProcess(_Driver):
    def __init__(self, log: Path, *, seed: int = 7, scale: str = "small",
                 faults: str = "mild", port: int = 0,  # 0: the sandbox picks a free port
                 hang_seconds: float | None = None, webhook_url: str | None = None,
                 webhook_secret: str | None = None) -> None:
        args = ["--port", str(port), "--seed", str(seed), "--scale", scale, "--faults", faults]
        if hang_seconds is not None:
            args += ["--hang-seconds", str(hang_seconds)]
        env = None
        if webhook_url:
            # The vendor pushes every change, signed; the secret travels in the environment.
            args += ["--webhook-url", webhook_url]
            env = {**loopback_env(), SECRETS_ENV: webhook_secret or ""}
        super().__init__(args, log, env=env)

    def requests(self) -> int:
        return int(self.counters().get("requests", 0))
