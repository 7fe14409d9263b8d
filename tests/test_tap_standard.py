"""singer-sdk's standard tap tests (discovery, sync, stream attributes) on a small sandbox."""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_fixtures import select

from partner_sandbox import Sandbox
from tap_partnerapi.tap import TapPartnerAPI

# The SDK builds the test class at import time from a config, so the sandbox starts here.
_SANDBOX = Sandbox(seed=11, scale="small").start()
atexit.register(_SANDBOX.stop)

TestTapPartnerAPI = get_tap_test_class(
    TapPartnerAPI,
    config={
        "api_url": _SANDBOX.url,
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        "environment": "sandbox",
        "page_size": 100,
    },
    # Select every stream, the id-set ones too (deselected by default: only the
    # reconciliation job lists ids).
    catalog=select(["customers", "plans", "subscriptions", "invoices", "invoice_items",
                    "payments", "refunds", "events", "coverage_ledger", "quarantine",
                    "schema_drift", "id_snapshots", "id_snapshot_runs"]),
    suite_config=SuiteConfig(
        max_records_limit=150,
        # Audit streams only get rows when something happens (drift, quarantine) or when
        # the reconciliation job selects them.
        # the record cap (150) interrupts the id listings, so - correctly - no snapshot
        # completes and id_snapshot_runs stays empty.
        ignore_no_records_for_streams=["quarantine", "schema_drift", "id_snapshot_runs"],
    ),
)
