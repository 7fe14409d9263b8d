"""The eight resource streams: each is a short declaration over ``ResourceStream``."""

from __future__ import annotations

import typing as t

from tap_partnerapi.client import PartnerStream
from tap_partnerapi.clock import normalize_ts, parse_ts
from tap_partnerapi.drift import ShapeChecker
from tap_partnerapi.ledger import LedgerTracker
from tap_partnerapi.schema import ID_FIELDS, RESOURCE_PROPERTIES, resource_schema
from tap_partnerapi.typecheck import TypeChecker
from tap_partnerapi.versions import VersionDedup, encode_version

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_partnerapi.pagination import Page


class ResourceStream(PartnerStream):
    """A vendor resource: typed records with lineage, one row per distinct version."""

    resource: str

    def __init__(self, tap: t.Any) -> None:
        self.id_field = ID_FIELDS[self.resource]
        super().__init__(tap=tap, name=self.resource, schema=resource_schema(self.resource),
                         path=self.resource)
        self.primary_keys = ["environment", self.id_field, "_pa_version"]
        self.checker = ShapeChecker(RESOURCE_PROPERTIES[self.resource])
        self.types = TypeChecker(self.resource, RESOURCE_PROPERTIES[self.resource])
        self.dedup = VersionDedup(int(self.config.get("dedup_memory_records", 200_000)))

    @property
    def partitions(self) -> list[dict] | None:
        """With ``end_date``, one partition (own bookmark) per ``partition_days``."""
        return self._tap.window_partitions()

    def get_records(self, context: t.Any) -> Iterator[dict[str, t.Any]]:
        tap = self._tap
        stats = self.stats
        stats.start()
        window = self.window_for(context)
        if window is None:
            stats.finish()
            return
        start, end = window
        ledger = LedgerTracker(environment=tap.environment, stream=self.name,
                               run_id=tap.run_id, window_start=start)
        self.log("Listing %s updated in [%s, %s)", self.name, start, end or "open end")
        try:
            last_page: Page | None = None
            for page in self.iter_pages(context, start, end, on_restart=ledger.restart):
                yield from self._records_of(page)
                self.advance_bookmark(context, self._page_newest)
                # The page's records are written; its ledger row, then the state, follow,
                # so a bookmark is never ahead of the ledger.
                tap.audit("coverage_ledger").emit(ledger.row(page, page.extracted_at))
                self._write_state_message()
                last_page = page
            if context and last_page is not None:
                self._mark_window_done(context, last_page)
        except Exception:
            stats.failed = True
            raise
        finally:
            stats.finish()

    def _records_of(self, page: Page) -> Iterator[dict[str, t.Any]]:
        tap = self._tap
        stats = self.stats
        seen = self.dedup.seen
        check = self.checker.check
        problems = self.types.check_page(page.data)  # None: every record is well-typed
        id_field = self.id_field
        lineage = {
            "environment": tap.environment,
            "_pa_run_id": tap.run_id,
            "_pa_extracted_at": page.extracted_at,
            "_pa_request_id": page.request_id,
            "_pa_cursor": page.cursor,
            "_pa_window_start": page.window_start,
            "_pa_window_end": page.window_end,
        }
        newest = ""
        self.page_time_extracted = parse_ts(page.extracted_at)
        for raw in page.data:
            version, key = encode_version(raw)
            if seen(key):
                stats.versions_repeated += 1
                continue
            verdict = check(raw)
            if verdict.missing or id_field not in raw:
                tap.quarantine(self, raw, version, verdict, page)
                continue
            typed = problems and problems.get(id(raw))
            if typed:
                if typed.breaking:
                    tap.quarantine(self, raw, version, typed, page)
                    continue
                tap.report_drift(self, typed.new_enum_values, raw.get(id_field), page)
            record = raw.copy()
            for extra in verdict.unexpected:
                if "." not in extra and "[" not in extra:
                    del record[extra]  # additive: kept in _pa_raw, not a typed column
            if verdict.unexpected:
                tap.report_drift(self, verdict.unexpected, raw.get(id_field), page)
            updated_at = record.get("updated_at")
            if type(updated_at) is str and len(updated_at) != 27:
                # Bookmarks compare as strings: keep them in the one format.
                updated_at = record["updated_at"] = normalize_ts(updated_at)
            record.update(lineage)
            record["_pa_raw"] = raw
            record["_pa_version"] = version
            stats.versions_new += 1
            stats.records += 1
            if type(updated_at) is str and updated_at > newest:
                newest = updated_at
            yield record
        # Read by get_records once the page is exhausted: the bookmark moves per page.
        self._page_newest = newest or None

    def _mark_window_done(self, context: dict, page: Page) -> None:
        """A closed window listed to its end is complete up to min(end, server now)."""
        self.advance_bookmark(context, min(context["_pa_window_end"], page.server_now))
        self._write_state_message()


class CustomersStream(ResourceStream):
    """Customers (holds PII: email, name, phone, address); may be hard-deleted."""
    resource = "customers"


class PlansStream(ResourceStream):
    """Plans; may be hard-deleted."""
    resource = "plans"


class SubscriptionsStream(ResourceStream):
    """Subscriptions."""
    resource = "subscriptions"


class InvoicesStream(ResourceStream):
    """Invoices (finance: 7-year retention downstream)."""
    resource = "invoices"


class InvoiceItemsStream(ResourceStream):
    """Invoice lines; draft lines may be hard-deleted."""
    resource = "invoice_items"


class PaymentsStream(ResourceStream):
    """Payments, with transaction_id and card brand/last4."""
    resource = "payments"


class RefundsStream(ResourceStream):
    """Refunds."""
    resource = "refunds"


class EventsStream(ResourceStream):
    """Payment lifecycle events, keyed by event_id; updated in place."""
    resource = "events"


RESOURCE_STREAMS: tuple[type[ResourceStream], ...] = (
    CustomersStream, PlansStream, SubscriptionsStream, InvoicesStream, InvoiceItemsStream,
    PaymentsStream, RefundsStream, EventsStream,
)
