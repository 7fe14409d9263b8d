"""Complete id sets of the deletable resources, the input of delete detection.

The vendor publishes no tombstones: a hard-deleted customer, plan or draft invoice line
simply stops being listed. The reconciliation job lists every current id cheaply
(``fields=id,updated_at``, 5,000 per page) as ``id_snapshots`` rows under a snapshot id,
and writes the snapshot's ``id_snapshot_runs`` row only after its listing reached the last
page - a snapshot without that row (an interrupted listing) must never be used. Not
selected by default: the incremental job never pays for it.
"""

from __future__ import annotations

import typing as t
import uuid

from tap_partnerapi.client import PartnerStream
from tap_partnerapi.schema import AUDIT_KEYS, AUDIT_SCHEMAS, DELETABLE_RESOURCES

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_partnerapi.services import RunServices

ID_LISTING_PAGE_SIZE = 5000


class IdSnapshotsStream(PartnerStream):
    """``id_snapshots``: one row per live id of customers, plans and invoice_items."""

    name = "id_snapshots"
    path = "{resource}"
    replication_key = None  # type: ignore[assignment]
    selected_by_default = False

    def __init__(self, tap: t.Any, services: RunServices) -> None:
        super().__init__(tap, services, name=self.name, schema=AUDIT_SCHEMAS[self.name],
                         path=self.path)
        self.primary_keys = AUDIT_KEYS[self.name]

    @property
    def partitions(self) -> list[dict]:
        return [{"resource": resource} for resource in DELETABLE_RESOURCES]

    def get_records(self, context: t.Any) -> Iterator[dict[str, t.Any]]:
        run = self.services
        resource = context["resource"]
        stats = self.stats
        stats.start()
        snapshot_id = str(uuid.uuid4())
        started_at: str | None = None
        completed_at: str | None = None
        ids: set[str] = set()
        base = {"environment": run.environment, "resource": resource,
                "snapshot_id": snapshot_id, "run_id": run.run_id}
        try:
            for page in self.iter_pages(context, None, None,
                                        extra_params={"fields": "id,updated_at"},
                                        page_size=ID_LISTING_PAGE_SIZE):
                started_at = started_at or page.server_now
                for raw in page.data:
                    record_id = raw.get("id")
                    if record_id is None:
                        continue
                    stats.records += 1
                    if record_id in ids:
                        stats.versions_repeated += 1
                        continue  # a record that moved while paging: listed once
                    ids.add(record_id)
                    stats.versions_new += 1
                    yield {**base, "id": record_id, "updated_at": raw.get("updated_at"),
                           "extracted_at": page.extracted_at}
                completed_at = page.server_now
            # Reached only when the listing got to its last page.
            run.audit("id_snapshot_runs").emit({
                **base, "started_at": started_at or run.server_now(),
                "completed_at": completed_at or run.server_now(),
                "id_count": len(ids), "status": "complete",
            })
            self.log("Id snapshot %s of %s complete: %d ids", snapshot_id, resource, len(ids))
        except Exception:
            stats.failed = True
            raise
        finally:
            stats.finish()
