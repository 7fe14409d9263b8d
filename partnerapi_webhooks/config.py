"""Settings from environment variables (12-factor: secrets never live in files we commit)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

PREFIX = "PARTNERAPI_WEBHOOK_"
ENVIRONMENTS = ("production", "sandbox")
CRASH_POINTS = ("after_landing", "after_commit")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    environment: str
    # repr=False: a Settings object may be logged; the signing secrets must never be.
    secrets: tuple[str, ...] = field(repr=False)
    landing: str = "output/webhooks/landing"
    state_db: str = "output/webhooks/state.sqlite"
    max_body_bytes: int = 1_048_576
    tolerance_seconds: int = 300
    future_tolerance_seconds: int = 60
    # A claim younger than this belongs to a delivery still in flight (another worker, or a
    # concurrent vendor retry): answer 409 so the vendor retries, rather than land twice.
    claim_lease_seconds: float = 30.0
    path: str = "/webhooks/partnerapi"
    # Fault injection for tests only: kill the process at this point of the accept path.
    crash_point: str | None = None

    def __post_init__(self) -> None:
        if self.environment not in ENVIRONMENTS:
            raise ConfigError(f"environment must be one of {ENVIRONMENTS}: {self.environment!r}")
        if not self.secrets or not all(self.secrets):
            raise ConfigError("at least one non-empty signing secret is required")
        if self.max_body_bytes <= 0:
            raise ConfigError("max_body_bytes must be positive")
        if self.crash_point is not None and self.crash_point not in CRASH_POINTS:
            raise ConfigError(f"crash_point must be one of {CRASH_POINTS}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``PARTNERAPI_WEBHOOK_*``; ``SECRETS`` is comma-separated, newest first."""
        env = os.environ if env is None else env

        def get(name: str, default: str | None = None) -> str | None:
            value = env.get(PREFIX + name)
            return value if value not in (None, "") else default

        environment = get("ENVIRONMENT")
        if environment is None:
            raise ConfigError(f"{PREFIX}ENVIRONMENT is required (production or sandbox)")
        raw_secrets = get("SECRETS") or get("SECRET") or ""
        secrets = tuple(s.strip() for s in raw_secrets.split(",") if s.strip())
        defaults = cls.__dataclass_fields__
        try:
            return cls(
                environment=environment,
                secrets=secrets,
                landing=get("LANDING", defaults["landing"].default),
                state_db=get("STATE_DB", defaults["state_db"].default),
                max_body_bytes=int(get("MAX_BODY_BYTES", "1048576")),
                tolerance_seconds=int(get("TOLERANCE_SECONDS", "300")),
                future_tolerance_seconds=int(get("FUTURE_TOLERANCE_SECONDS", "60")),
                claim_lease_seconds=float(get("CLAIM_LEASE_SECONDS", "30")),
                path=get("PATH", defaults["path"].default),
                crash_point=get("TEST_CRASH_POINT"),
            )
        except ValueError as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"bad {PREFIX}* value: {exc}") from exc
