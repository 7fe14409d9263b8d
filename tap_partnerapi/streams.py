"""The eight resource streams: each is a short declaration over ``ResourceStream``."""

from __future__ import annotations

import functools
import typing as t
import uuid

from tap_partnerapi.batches import BatchedCommits
from tap_partnerapi.client import PartnerStream
from tap_partnerapi.clock import normalize_ts
from tap_partnerapi.drift import FieldTypes, ShapeChecker
from tap_partnerapi.ledger import LedgerTracker
from tap_partnerapi.schema import ID_FIELDS, RESOURCE_PROPERTIES, resource_schema
from tap_partnerapi.typecheck import TypeChecker
from tap_partnerapi.versions import VersionDedup, encode_version

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_partnerapi.pagination import Page
    from tap_partnerapi.services import RunServices


class ResourceStream(BatchedCommits, PartnerStream):
    """A vendor resource: one raw row per distinct version."""

    resource: str

    def __init__(self, tap: t.Any, services: RunServices) -> None:
        self.id_field = ID_FIELDS[self.resource]
        super().__init__(tap, services, name=self.resource,
                         schema=resource_schema(self.resource), path=self.resource)
        self.primary_keys = ["environment", self.id_field, "_pa_version"]
        self.checker = ShapeChecker(RESOURCE_PROPERTIES[self.resource])
        # Undocumented fields seen this run: their JSON types and schema_drift rows.
        self.field_types = FieldTypes()
        self.drift_rows: dict[str, dict[str, t.Any]] = {}
        self.types = TypeChecker(self.resource, RESOURCE_PROPERTIES[self.resource])
        self.dedup = VersionDedup(int(self.config.get("dedup_memory_records", 200_000)))

    @property
    def partitions(self) -> list[dict] | None:
        """With ``end_date``, one partition (own bookmark) per ``partition_days``."""
        return self.services.window_partitions()

    def get_records(self, context: t.Any) -> Iterator[dict[str, t.Any]]:
        run = self.services
        stats = self.stats
        stats.start()
        window = self.window_for(context)
        if window is None:
            stats.finish()
            return
        start, end = window
        ledger = LedgerTracker(environment=run.environment, stream=self.name,
                               run_id=run.run_id, window_start=start)
        self.log("Listing %s updated in [%s, %s)", self.name, start, end or "open end")
        try:
            last_page: Page | None = None
            for page in self.iter_pages(context, start, end, on_restart=ledger.restart):
                yield from self._records_of(page)
                # Once the page's records are out (in BATCH mode: their file's BATCH
                # message), its ledger row, then the state, follow, so a bookmark is never
                # ahead of the records or the ledger.
                self.after_records(functools.partial(
                    self._commit_page, context, self._page_newest,
                    ledger.row(page, page.extracted_at)))
                last_page = page
            if context and last_page is not None:
                self.after_records(functools.partial(
                    self._mark_window_done, context, last_page))
        except Exception:
            stats.failed = True
            raise
        finally:
            stats.finish()

    def _records_of(self, page: Page) -> Iterator[dict[str, t.Any]]:
        """Raw rows v2 (design.md, "Tap output"): keys, ``updated_at``, the request id and
        the vendor's object as received. Per-page facts are not repeated on every record
        (bytes per event, issue 16): the ledger row named by ``_pa_request_id`` holds the
        run id, the reception time (``completed_at``), the cursor and the window."""
        run = self.services
        stats = self.stats
        seen = self.dedup.seen
        check = self.checker.check
        problems = self.types.check_page(page.data)  # None: every record is well-typed
        id_field = self.id_field
        if page.request_id is None:
            # The vendor sends X-Request-Id on every response; without one, a unique
            # stand-in still ties these records to their page's ledger row.
            page.request_id = f"missing-{uuid.uuid4().hex}"
        environment, request_id = run.environment, page.request_id
        newest = ""
        for raw in page.data:
            version, key = encode_version(raw)
            if seen(key):
                stats.versions_repeated += 1
                continue
            verdict = check(raw)
            if verdict.missing or id_field not in raw:
                run.quarantine(self, raw, version, verdict, page)
                continue
            typed = problems and problems.get(id(raw))
            if typed:
                if typed.breaking:
                    run.quarantine(self, raw, version, typed, page)
                    continue
                run.report_drift(self, typed.new_enum_values, raw, page)
            if verdict.unexpected:
                run.report_drift(self, verdict.unexpected, raw, page)
            updated_at = raw["updated_at"]
            if type(updated_at) is str and len(updated_at) != 27:
                # Bookmarks compare as strings: keep them in the one format.
                updated_at = normalize_ts(updated_at)
            stats.versions_new += 1
            stats.records += 1
            if type(updated_at) is str and updated_at > newest:
                newest = updated_at
            yield {"environment": environment, id_field: raw[id_field], "_pa_version": version,
                   "updated_at": updated_at, "_pa_request_id": request_id,
                   "_pa_raw": raw}
        # Read by get_records once the page is exhausted: the bookmark moves per page.
        self._page_newest = newest or None

    def _commit_page(self, context: t.Any, newest: str | None,
                     ledger_row: dict[str, t.Any]) -> None:
        self.advance_bookmark(context, newest)
        self.services.audit("coverage_ledger").emit(ledger_row)
        self.write_state()

    def _mark_window_done(self, context: dict, page: Page) -> None:
        """A closed window listed to its end is complete up to min(end, server now)."""
        self.advance_bookmark(context, min(context["_pa_window_end"], page.server_now))
        self.write_state()


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
