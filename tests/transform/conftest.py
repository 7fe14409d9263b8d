"""Fixtures of the transform group (the dbt project on DuckDB and on fakesnow)."""

from __future__ import annotations

import pytest

from tests.support.dbt_fixtures import Warehouse, base_warehouse


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """The baseline warehouse, built once per module; tests copy it (copy_warehouse)."""
    return base_warehouse(tmp_path_factory.getbasetemp())
