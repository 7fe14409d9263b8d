"""Audit streams fed while the resource streams run (ledger, quarantine, drift, id-sets).

Their rows are produced by other streams' syncs and written right after the page they
describe, so a crash never leaves a bookmark ahead of its ledger. When the SDK syncs these
streams in turn they have nothing left to yield.
"""

from __future__ import annotations

import typing as t

from partnerapi_sdk_hooks import PushedRecords
from tap_partnerapi.schema import AUDIT_KEYS, AUDIT_SCHEMAS


class AuditStream(PushedRecords):
    """A stream whose records are pushed by other streams through :meth:`emit`."""

    selected_by_default = True
    is_audit = True  # fed by the data streams; selecting only these reads nothing

    def __init__(self, tap: t.Any, name: str) -> None:
        super().__init__(tap=tap, name=name, schema=AUDIT_SCHEMAS[name])
        self.primary_keys = AUDIT_KEYS[name]
        self.emitted = 0

    def emit(self, row: dict[str, t.Any]) -> None:
        if not self.selected:
            return
        self.push(row)
        self.emitted += 1

    def get_records(self, context: t.Any) -> t.Iterable[dict[str, t.Any]]:
        return iter(())
