"""`meltano run incremental` twice in a row against the sandbox: the second run resumes from
Meltano's state (fewer API requests) and adds no duplicate raw row.

The whole job runs (tap -> target-duckdb-bulk -> dbt build), with its own system database (state),
warehouse file and dbt target directory, so nothing of the developer's project is touched.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from partnerapi_sandbox import Sandbox
from tests.support.meltano_fixtures import pipeline_env

ROOT = Path(__file__).resolve().parents[2]
MELTANO = str(Path(sys.executable).with_name("meltano"))
RESOURCES = {
    "customers": "id",
    "plans": "id",
    "subscriptions": "id",
    "invoices": "id",
    "invoice_items": "id",
    "payments": "id",
    "refunds": "id",
    "events": "event_id",
}
STATE_ID = "dev:tap-partnerapi-to-target-duckdb-bulk"



@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(
        seed=7,
        scale="small",
        faults="off",
        environment="sandbox",
        rate_limit_per_minute=1000,
        token_lifetime_seconds=900,
    )
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture(scope="module")
def project_env(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("meltano_incremental")
    # Small pages, so that a full read and an incremental one differ in requests (at the
    # default 5000 every stream of the small sandbox is a single page).
    env = pipeline_env(tmp, sandbox.url, TAP_PARTNERAPI_PAGE_SIZE="200")
    return env


def run_incremental(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MELTANO, "run", "--timeout", "600", "incremental"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=660,
    )


def raw_versions(db: str) -> dict[str, list[tuple[str, str, str]]]:
    with duckdb.connect(db, read_only=True) as con:
        return {
            res: con.execute(
                f'select environment, "{id_col}", _pa_version from raw."{res}"'
            ).fetchall()
            for res, id_col in RESOURCES.items()
        }


def test_second_run_is_incremental_and_adds_no_duplicate(
    sandbox: Sandbox, project_env: dict[str, str]
) -> None:
    db = project_env["PARTNERAPI_DUCKDB_PATH"]

    before = sandbox.counters()["requests"]
    first = run_incremental(project_env)
    assert first.returncode == 0, first.stderr[-4000:]
    first_requests = sandbox.counters()["requests"] - before
    after_first = raw_versions(db)

    # Everything the vendor shows is in raw, once per version.
    for res in RESOURCES:
        rows = after_first[res]
        assert len(rows) == len(set(rows)), f"duplicate raw rows in {res}"
        assert {r[1] for r in rows} == set(sandbox.truth(res)), f"raw.{res} != vendor ids"

    state = subprocess.run(
        [MELTANO, "state", "get", STATE_ID],
        cwd=ROOT,
        env=project_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert state.returncode == 0, state.stderr[-2000:]
    assert json.loads(state.stdout)["singer_state"]["bookmarks"]

    before = sandbox.counters()["requests"]
    second = run_incremental(project_env)
    assert second.returncode == 0, second.stderr[-4000:]
    second_requests = sandbox.counters()["requests"] - before
    after_second = raw_versions(db)

    assert second_requests < first_requests
    for res in RESOURCES:
        assert len(after_second[res]) == len(set(after_second[res])), f"duplicates in {res}"
        assert sorted(after_second[res]) == sorted(after_first[res]), f"raw.{res} changed"
