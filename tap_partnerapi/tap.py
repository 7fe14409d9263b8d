"""tap-partnerapi: the Partner API (billing & payments) as Singer streams."""

from __future__ import annotations

import decimal
import sys
import typing as t
from functools import cached_property

from singer_sdk import typing as th

from partnerapi_sdk_hooks import TapHooks
from tap_partnerapi.audit import AuditStream
from tap_partnerapi.auth import PartnerOAuthAuthenticator
from tap_partnerapi.clock import parse_ts
from tap_partnerapi.errors import PartnerAPIError, TapUsageError
from tap_partnerapi.idsets import IdSnapshotsStream
from tap_partnerapi.pacing import PRIORITIES
from tap_partnerapi.preflight import check_selection, check_state, load_state
from tap_partnerapi.schema import AUDIT_SCHEMAS
from tap_partnerapi.services import RunServices
from tap_partnerapi.settlements import SettlementsStream
from tap_partnerapi.streams import RESOURCE_STREAMS
from tap_partnerapi.summary import StreamStats, write_summaries
from tap_partnerapi.webhooks import WebhookNotificationsStream
from tap_partnerapi.writer import PartnerWriter

if t.TYPE_CHECKING:
    from collections.abc import Callable


#: Exit statuses (docs/tap.md): a known error stopped the run (one line says which);
#: every stream finished but records were quarantined; one or more streams were refused
#: by the vendor (403/404) while the others finished and saved their state.
FATAL_EXIT_CODE = 1
QUARANTINE_EXIT_CODE = 3
STREAM_FAILED_EXIT_CODE = 4
ENVIRONMENTS = ("production", "sandbox")


class TapPartnerAPI(TapHooks):
    """Singer tap for the Partner API."""

    name = "tap-partnerapi"
    message_writer_class = PartnerWriter
    #: Where the state came from (the --state file), named by state errors.
    state_source: str | None = None

    config_jsonschema = th.PropertiesList(
        th.Property("api_url", th.StringType, required=True,
                    description="The vendor's root URL, e.g. https://api.partner.example; "
                                "/oauth/token and /v1/<resource> are below it."),
        th.Property("client_id", th.StringType, required=True,
                    description="OAuth2 client id (the rate limit is per client id)."),
        th.Property("client_secret", th.StringType, required=True, secret=True,
                    description="OAuth2 client secret. Never logged."),
        th.Property("environment", th.StringType, required=True,
                    allowed_values=list(ENVIRONMENTS),
                    description="Which vendor environment api_url points at; stamped on "
                                "every record and part of every key (ids collide across "
                                "environments)."),
        th.Property("start_date", th.DateTimeType,
                    description="Earliest updated_at to read (inclusive) when there is no "
                                "bookmark. Empty: the whole history."),
        th.Property("end_date", th.DateTimeType,
                    description="Exclusive end of a closed window (backfills). Set: the "
                                "window is split into partitions with their own bookmarks."),
        th.Property("page_size", th.IntegerType, default=5000,
                    description="Records per page, 1 to 5,000."),
        th.Property("requests_per_minute", th.IntegerType, default=600,
                    description="This process's request budget (all streams, token "
                                "requests included). Keep it below the vendor's 1,000/min: "
                                "other clients share the key."),
        th.Property("overlap_hours", th.NumberType, default=2,
                    description="Each run re-reads this many hours before the bookmark, to "
                                "catch records that became visible late (vendor: usually "
                                "< 2 h; a daily 48 h sweep catches the rest)."),
        th.Property("partition_days", th.NumberType, default=1,
                    description="With end_date: size in days of each window partition."),
        th.Property("request_timeout", th.NumberType, default=60,
                    description="Seconds before a request is abandoned and retried."),
        th.Property("max_retries", th.IntegerType, default=8,
                    description="Transient failures retried per page before the run fails "
                                "(429s are waited out and bounded by max_retry_seconds)."),
        th.Property("max_retry_seconds", th.IntegerType, default=900,
                    description="Total seconds spent retrying one page before the run fails."),
        th.Property("backoff_base_seconds", th.NumberType, default=1.0,
                    description="First backoff wait; doubles per failure, with jitter."),
        th.Property("backoff_max_seconds", th.NumberType, default=60.0,
                    description="Longest single backoff wait."),
        th.Property("token_refresh_margin_seconds", th.IntegerType, default=60,
                    description="Renew the access token this long before it expires."),
        th.Property("rate_limit_low_watermark", th.NumberType, default=0.1,
                    description="Fraction of X-RateLimit-Limit left at which requests are "
                                "spread over the rest of the window."),
        th.Property("rate_limit_priority", th.StringType, default="normal",
                    allowed_values=list(PRIORITIES),
                    description="low: pace on the vendor's shared X-RateLimit-Remaining, "
                                "use the whole budget while alone and yield to any other "
                                "process of the client id (backfills). normal: keep to "
                                "requests_per_minute."),
        th.Property("rate_limit_reserve", th.NumberType, default=0.05,
                    description="Low priority: fraction of X-RateLimit-Limit left unspent "
                                "in every window while no other process is seen."),
        th.Property("rate_limit_yield_reserve", th.NumberType, default=0.6,
                    description="Low priority: fraction of X-RateLimit-Limit left to the "
                                "others for a minute after another process of the client "
                                "id was seen using the budget."),
        th.Property("dedup_memory_records", th.IntegerType, default=200_000,
                    description="Recent (id, version) keys remembered per stream to emit a "
                                "version once per run (memory bound)."),
        th.Property("run_id", th.StringType,
                    description="Id of this run, on every coverage ledger and audit row "
                                "(staging's _pa_run_id). Default: a UUID4."),
        th.Property("summary_path", th.StringType,
                    description="File to which the per-stream run summary JSON lines are "
                                "appended."),
        th.Property("webhooks_landing", th.StringType,
                    description="Folder or s3://bucket/prefix where partnerapi-webhooks "
                                "lands notifications (its PARTNERAPI_WEBHOOK_LANDING). "
                                "Empty: the webhook_notifications stream reads nothing."),
        th.Property("webhooks_lookback_minutes", th.IntegerType, default=10,
                    description="Each run re-reads notifications received this long before "
                                "its bookmark (a delivery can finish landing after a later "
                                "one; the receiver's claim lease is 30 s)."),
        th.Property("settlements_location", th.StringType,
                    description="Folder or s3://bucket/prefix the vendor writes settlement "
                                "drops to (<prefix>/<environment>/settlements/...). Empty: "
                                "the settlements stream reads nothing."),
        th.Property("settlements_lookback_hours", th.IntegerType, default=96,
                    description="Each run lists drops settled up to this long before the "
                                "newest settled_date read (the vendor: drops land up to "
                                "72 h after their date)."),
        th.Property("fail_on_quarantine", th.BooleanType, default=True,
                    description=f"Exit with status {QUARANTINE_EXIT_CODE} after a run that "
                                "quarantined records (all streams still complete)."),
    ).to_dict()

    @staticmethod
    def config_errors(config: t.Mapping[str, t.Any]) -> list[str]:
        return _semantic_errors(config)

    @staticmethod
    def read_state(text: str, source: str | None) -> dict[str, t.Any]:
        # Errors name the state file and the key (preflight.py).
        return load_state(text, source)

    # -- what the streams share --------------------------------------------------------

    @cached_property
    def services(self) -> RunServices:
        """Built once; every stream gets it at construction (services.py)."""
        return RunServices(self.config, audit=self.audit, logger=self.logger)

    @property
    def run_id(self) -> str:
        return self.services.run_id

    @property
    def environment(self) -> str:
        return self.services.environment

    @property
    def authenticator(self) -> PartnerOAuthAuthenticator:
        return self.services.authenticator

    def stats_for(self, stream: str) -> StreamStats:
        return self.services.stats_for(stream)

    def audit(self, name: str) -> AuditStream:
        return t.cast("AuditStream", self.streams[name])

    # -- streams -------------------------------------------------------------------------

    def discover_streams(self) -> list:
        services = self.services
        return [
            *(stream(self, services) for stream in RESOURCE_STREAMS),
            *(AuditStream(self, name) for name in AUDIT_SCHEMAS if name != "id_snapshots"
              and name != "id_snapshot_runs"),
            IdSnapshotsStream(self, services),
            _IdSnapshotRunsStream(self, "id_snapshot_runs"),
            WebhookNotificationsStream(self, services),
            SettlementsStream(self, services),
        ]

    @property
    def failed_streams(self) -> dict[str, str]:
        return {s.stream: s.error for s in self.services.stats.values() if s.error}

    # -- the run -------------------------------------------------------------------------

    def sync_all(self) -> None:
        # Before any stream syncs: a bad bookmark or selection must not surface only after
        # other streams were already extracted.
        check_state(self, self.state_source)
        check_selection(self)
        try:
            super().sync_all()
        finally:
            lines = [stats.as_summary(run_id=self.run_id, environment=self.environment)
                     for stats in self.services.stats.values()]
            write_summaries(lines, self.config.get("summary_path"), self.logger)

    @property
    def quarantined_total(self) -> int:
        return sum(stats.quarantined for stats in self.services.stats.values())

    @classmethod
    def run_invoked(cls, build: Callable[[], TapHooks]) -> None:
        """The CLI's run (``TapHooks.invoke``), plus one clear line for known errors (the
        traceback only at DEBUG) and the exit statuses of docs/tap.md."""
        try:
            tap = t.cast("TapPartnerAPI", build())
            tap.sync_all()
        except (PartnerAPIError, TapUsageError) as exc:
            cls.logger.error("%s", exc)
            cls.logger.debug("Traceback of the error above", exc_info=True)
            sys.stdout.flush()
            sys.exit(FATAL_EXIT_CODE)
        sys.stdout.flush()
        if tap.failed_streams:
            for stream, error in tap.failed_streams.items():
                tap.logger.error("Stream %s failed: %s", stream, error)
            tap.logger.error("%d stream(s) failed (%s); the others completed and saved their "
                             "state; exiting with status %d", len(tap.failed_streams),
                             ", ".join(tap.failed_streams), STREAM_FAILED_EXIT_CODE)
            sys.exit(STREAM_FAILED_EXIT_CODE)
        if tap.quarantined_total and tap.config.get("fail_on_quarantine", True):
            tap.logger.error("%d record(s) quarantined (breaking schema change); exiting "
                             "with status %d", tap.quarantined_total, QUARANTINE_EXIT_CODE)
            sys.exit(QUARANTINE_EXIT_CODE)


class _IdSnapshotRunsStream(AuditStream):
    """Completion markers of id snapshots; selected with ``id_snapshots``."""

    selected_by_default = False


def _semantic_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    """Checks JSON Schema cannot express; each message names its setting."""
    errors: list[str] = []
    url = str(config.get("api_url") or "")
    if url and not url.startswith(("http://", "https://")):
        errors.append(f"api_url: must start with http:// or https:// (got {url!r})")
    if url.rstrip("/").endswith("/v1"):
        errors.append("api_url: give the vendor's root, without /v1")
    env = config.get("environment")
    if env is not None and env not in ENVIRONMENTS:
        errors.append(f"environment: must be one of {', '.join(ENVIRONMENTS)} (got {env!r})")
    dates = {}
    for name in ("start_date", "end_date"):
        value = config.get(name)
        if value:
            try:
                dates[name] = parse_ts(str(value))
            except ValueError:
                errors.append(f"{name}: not an ISO 8601 date or timestamp ({value!r})")
    if "end_date" in dates:
        if "start_date" not in dates:
            errors.append("end_date: needs start_date (a closed window has two ends)")
        elif dates["end_date"] <= dates["start_date"]:
            errors.append("end_date: must be after start_date")
    bounds = {"page_size": (1, 5000), "requests_per_minute": (1, 1000),
              "overlap_hours": (0, 24 * 30), "partition_days": (0.0001, 3660),
              "request_timeout": (0.01, 3600), "max_retries": (0, 100),
              "max_retry_seconds": (0, 86400), "backoff_base_seconds": (0, 600),
              "backoff_max_seconds": (0, 3600), "token_refresh_margin_seconds": (0, 3600),
              "rate_limit_low_watermark": (0, 1), "rate_limit_reserve": (0, 0.5),
              "rate_limit_yield_reserve": (0, 0.95), "dedup_memory_records": (1, 10**8),
              "webhooks_lookback_minutes": (0, 7 * 24 * 60),
              "settlements_lookback_hours": (72, 24 * 366)}
    for name, (low, high) in bounds.items():
        value = config.get(name)
        if value is None:
            continue
        # Config files are read with Decimal floats.
        if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
            errors.append(f"{name}: must be a number (got {value!r})")
        elif not low <= value <= high:
            errors.append(f"{name}: must be between {low} and {high} (got {value})")
    return errors


if __name__ == "__main__":
    TapPartnerAPI.cli()
