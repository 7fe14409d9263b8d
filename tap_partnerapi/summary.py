"""Per-stream run statistics and the ``PARTNERAPI_SUMMARY`` lines written at the end."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import logging
import time
import typing as t
from pathlib import Path

from tap_partnerapi.clock import format_ts

RETRY_CAUSES = ("timeout", "connection", "http_5xx", "http_504", "partial_page",
                "truncated_body", "invalid_token", "rate_limited", "invalid_cursor")
SUMMARY_PREFIX = "PARTNERAPI_SUMMARY"

logger = logging.getLogger("tap_partnerapi.summary")


def _now() -> str:
    return format_ts(dt.datetime.now(dt.UTC))


@dataclasses.dataclass
class StreamStats:
    stream: str
    records: int = 0
    versions_new: int = 0
    versions_repeated: int = 0
    pages: int = 0
    retries: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    http_429: int = 0
    rate_limit_wait_seconds: float = 0.0  # every wait on the limiter, Retry-After included
    retry_after_wait_seconds: float = 0.0
    quarantined: int = 0
    new_fields: list[str] = dataclasses.field(default_factory=list)
    started_at: str | None = None
    finished_at: str | None = None
    failed: bool = False
    error: str | None = None  # why a failed stream failed (names the vendor's request id)
    _t0: float | None = None
    _elapsed: float = 0.0

    def start(self) -> None:
        if self.started_at is None:
            self.started_at = _now()
        self._t0 = time.monotonic()

    def finish(self) -> None:
        if self._t0 is not None:
            self._elapsed += time.monotonic() - self._t0
            self._t0 = None
        self.finished_at = _now()

    def seconds(self) -> float:
        """Sync time so far."""
        running = time.monotonic() - self._t0 if self._t0 is not None else 0.0
        return self._elapsed + running

    @property
    def budget_wait_seconds(self) -> float:
        return max(0.0, self.rate_limit_wait_seconds - self.retry_after_wait_seconds)

    @property
    def status(self) -> str:
        if self.failed:
            return "failed"
        return "quarantined" if self.quarantined else "ok"

    def as_summary(self, *, run_id: str, environment: str) -> dict[str, t.Any]:
        return {
            "run_id": run_id,
            "environment": environment,
            "stream": self.stream,
            "records": self.records,
            "versions_new": self.versions_new,
            "versions_repeated": self.versions_repeated,
            "pages": self.pages,
            "retries": {cause: self.retries.get(cause, 0) for cause in RETRY_CAUSES},
            "http_429": self.http_429,
            "rate_limit_wait_seconds": round(self.rate_limit_wait_seconds, 3),
            "retry_after_wait_seconds": round(self.retry_after_wait_seconds, 3),
            "quarantined": self.quarantined,
            "new_fields": sorted(self.new_fields),
            "duration_seconds": round(self._elapsed, 3),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "error": self.error,
        }


def write_summaries(lines: list[dict[str, t.Any]], path: str | None,
                    log: logging.Logger = logger) -> None:
    """Log one ``PARTNERAPI_SUMMARY {json}`` line per stream; append them to ``path``."""
    for line in lines:
        log.info("%s %s", SUMMARY_PREFIX, json.dumps(line, sort_keys=True))
        retries = {k: v for k, v in line["retries"].items() if v}
        log.info(
            "Stream %s: %d records, %d pages, retries %s, %.1fs waited on the rate limit, "
            "%d quarantined, status %s", line["stream"], line["records"], line["pages"],
            retries or "none", line["rate_limit_wait_seconds"], line["quarantined"],
            line["status"])
    if path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as handle:
            for line in lines:
                handle.write(json.dumps(line, sort_keys=True) + "\n")
