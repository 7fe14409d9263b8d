"""What the streams of one run share, built once by the tap and handed to every stream.

A stream takes this at construction instead of reaching back into its tap: the run's
identity (run id, environment), the bounds of what to read (start date, window
partitions), the vendor's clock, the one rate limiter and token of the process, the
per-stream statistics the run summary is made of, and the audit sink (ledger, quarantine,
schema drift rows). Everything is built on first use, as the tap built it before: a
``--discover`` or ``--about`` run never needs credentials.
"""

from __future__ import annotations

import datetime as dt
import logging
import typing as t
import uuid
from functools import cached_property

from tap_partnerapi.auth import PartnerOAuthAuthenticator
from tap_partnerapi.clock import (
    ServerClock,
    format_ts,
    normalize_ts,
    parse_ts,
    timestamp_or_none,
)
from tap_partnerapi.pacing import RateLimiter
from tap_partnerapi.summary import StreamStats

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from tap_partnerapi.audit import AuditStream
    from tap_partnerapi.drift import Verdict
    from tap_partnerapi.errors import PartnerAPIError
    from tap_partnerapi.pagination import Page
    from tap_partnerapi.streams import ResourceStream
    from tap_partnerapi.typecheck import TypeVerdict


class RunServices:
    """One run's shared pieces; ``audit(name)`` is the audit stream ``name``."""

    def __init__(self, config: Mapping[str, t.Any], *, audit: Callable[[str], AuditStream],
                 logger: logging.Logger) -> None:
        self.config = config
        self.audit = audit
        self.logger = logger
        #: Per stream, in the order streams first reported: the run summary's lines.
        self.stats: dict[str, StreamStats] = {}

    # -- the run's identity and bounds ---------------------------------------------------

    @cached_property
    def run_id(self) -> str:
        return self.config.get("run_id") or str(uuid.uuid4())

    @property
    def environment(self) -> str:
        return self.config["environment"]

    @cached_property
    def start_date(self) -> str | None:
        value = self.config.get("start_date")
        return normalize_ts(value) if value else None

    def window_partitions(self) -> list[dict] | None:
        """With ``end_date``, ``[start_date, end_date)`` in ``partition_days`` windows."""
        end = self.config.get("end_date")
        if not end or not self.start_date:
            return None
        step = dt.timedelta(days=float(self.config.get("partition_days", 1)))
        cursor, stop = parse_ts(self.start_date), parse_ts(end)
        partitions = []
        while cursor < stop:
            upper = min(cursor + step, stop)
            partitions.append({"_pa_window_start": format_ts(cursor),
                               "_pa_window_end": format_ts(upper)})
            cursor = upper
        return partitions

    # -- the vendor's clock, the request budget and the token, one each per process -------

    @cached_property
    def clock(self) -> ServerClock:
        return ServerClock()

    def server_now(self) -> str:
        return format_ts(self.clock.now())

    @cached_property
    def limiter(self) -> RateLimiter:
        config = self.config
        return RateLimiter(int(config.get("requests_per_minute", 600)),
                           low_watermark=float(config.get("rate_limit_low_watermark", 0.1)),
                           priority=config.get("rate_limit_priority", "normal"),
                           reserve=float(config.get("rate_limit_reserve", 0.05)),
                           yield_reserve=float(config.get("rate_limit_yield_reserve", 0.6)))

    @cached_property
    def authenticator(self) -> PartnerOAuthAuthenticator:
        """One token for the whole process, shared by every stream."""
        return PartnerOAuthAuthenticator(
            api_url=self.config["api_url"], client_id=self.config["client_id"],
            client_secret=self.config["client_secret"], limiter=self.limiter,
            clock=self.clock, timeout=float(self.config.get("request_timeout", 60)),
            refresh_margin_seconds=float(self.config.get("token_refresh_margin_seconds", 60)),
        )

    # -- statistics and what goes to the audit streams -----------------------------------

    def stats_for(self, stream: str) -> StreamStats:
        return self.stats.setdefault(stream, StreamStats(stream))

    def stream_failed(self, stream: t.Any, exc: PartnerAPIError) -> None:
        """A resource refused on its own (403, 404): the run goes on and fails at the end."""
        stats = self.stats_for(stream.name)
        stats.failed = True
        stats.error = str(exc)
        self.logger.error("Stream %s failed: %s; the other streams continue", stream.name,
                          exc)

    def quarantine(self, stream: ResourceStream, raw: dict, version: str,
                   verdict: Verdict | TypeVerdict, page: Page) -> None:
        """A breaking record goes to ``quarantine``, never to its resource stream."""
        stats = self.stats_for(stream.name)
        stats.quarantined += 1
        id_field = stream.id_field
        missing = list(verdict.missing) or ([id_field] if id_field not in raw else [])
        reason = verdict.reason() if verdict.missing or verdict.breaking else \
            f"documented field(s) missing: {id_field}"
        record_id = raw.get(id_field)
        record_id = None if record_id is None else str(record_id)
        if stats.quarantined <= 5:
            stream.log("Quarantined %s %s: %s (request_id=%s)", stream.name, record_id,
                       reason, page.request_id, level=30)
        self.audit("quarantine").emit({
            "environment": self.environment, "stream": stream.name,
            "record_id": record_id, "updated_at": timestamp_or_none(raw.get("updated_at")),
            "reason": reason, "missing_fields": missing,
            "unexpected_fields": list(verdict.unexpected), "_pa_raw": raw,
            "_pa_version": version, "_pa_run_id": self.run_id,
            "_pa_request_id": page.request_id, "_pa_extracted_at": page.extracted_at,
        })

    def report_drift(self, stream: ResourceStream, fields: Iterable[str],
                     raw: dict[str, t.Any], page: Page) -> None:
        """Additive fields: one ``schema_drift`` row per (stream, field) per run, written
        again (same key: it replaces itself) when the field's values show a new JSON type."""
        stats = self.stats_for(stream.name)
        for field in fields:
            if not stream.field_types.observe(raw, field):
                continue
            if field not in stats.new_fields:
                stats.new_fields.append(field)
                # An enum's new value is reported as field='value'.
                what = "value" if "=" in field else "field"
                stream.log("New undocumented %s %s.%s (kept in _pa_raw)", what, stream.name,
                           field, level=30)
                stream.drift_rows[field] = {
                    "environment": self.environment, "stream": stream.name,
                    "field_path": field, "first_seen_at": page.extracted_at,
                    "run_id": self.run_id,
                    "example_record_id": None if raw.get(stream.id_field) is None
                    else str(raw[stream.id_field])}
            self.audit("schema_drift").emit({**stream.drift_rows[field],
                                             "json_types": stream.field_types.json_types(field)})
