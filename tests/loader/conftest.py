"""Fixtures of the loader group (target-duckdb-bulk and target-snowflake's BATCH path)."""

from __future__ import annotations

import pytest

from tests.loader.loader_fixtures import LOADER_BIN


@pytest.fixture(scope="module")
def loader_installed() -> None:
    """Fails a module that loads through the installed loader early, saying how to install it."""
    if not LOADER_BIN.exists():
        pytest.fail("target-duckdb-bulk is not installed: run `make test` (meltano install)")
