"""singer-sdk's standard target tests against target-duckdb-bulk (a DuckDB file per test)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from singer_sdk.testing import get_target_test_class

from target_duckdb_bulk.target import TargetDuckDBBulk

_DIR = Path(tempfile.mkdtemp(prefix="target-duckdb-bulk-standard-"))

TestTargetDuckDBBulk = get_target_test_class(
    TargetDuckDBBulk,
    config={"path": str(_DIR / "standard.duckdb"), "default_target_schema": "standard",
            "validate_records": False},
)
