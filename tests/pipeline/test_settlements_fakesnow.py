"""The settlement models on Snowflake's dialect: dbt-snowflake against fakesnow, raw tables
shaped as a Snowflake loader leaves them (upper-case names, NUMBER, TIMESTAMP_NTZ). The
tap's settlement records of both phases (every fault) are loaded and built:
settlement_lines ends equal to the sandbox's truth and the reconciliation counts equal
the sandbox's expected counts, as on DuckDB."""

from __future__ import annotations

import json
import typing as t
from datetime import UTC, datetime
from pathlib import Path

import pytest

from partnerapi_sandbox import Sandbox
from tap_partnerapi.settlements import SETTLEMENT_SCHEMA
from tests.pipeline.settlement_fixtures import SELECT, _sql_ts
from tests.support.dbt_fixtures import Batch, dbt, empty_audit_tables
from tests.support.fakesnow import cell, raw_tables, sf_type, snowflake_sql
from tests.support.tap_fixtures import run_tap, tap_config

pytest.importorskip("pyarrow")


def _load(port: int, path: Path, records: list[dict[str, t.Any]], payments: Batch | None,
          append: bool) -> None:
    spec_path = raw_tables(path, [payments, empty_audit_tables()] if payments else [], append)
    spec = json.loads(spec_path.read_text())
    cols = [(name, sf_type(p)) for name, p in SETTLEMENT_SCHEMA["properties"].items()]
    spec["SETTLEMENTS"] = {"columns": cols, "append": append,
                           "rows": [[cell(r.get(c), k) for c, k in cols] for r in records]}
    spec_path.write_text(json.dumps(spec))
    snowflake_sql(port, "select 1", spec_path)


def _build(port: int, tmp_path: Path, scenario: dict[str, t.Any]) -> None:
    dbt_vars = {"settlement_as_of": _sql_ts(scenario["as_of"]),
                "settlement_expected_from": _sql_ts(scenario["expected_from"]),
                "settlement_grace_days": scenario["grace_days"]}
    result = dbt(tmp_path / "unused.duckdb", "build", "--target", "fakesnow", "--select",
                 *SELECT.split(), "--indirect-selection", "cautious", "--vars",
                 json.dumps(dbt_vars), utility="dbt-snowflake",
                 extra_env={"FAKESNOW_PORT": str(port)})
    assert result.returncode == 0, result.output[-5000:]


def test_settlement_models_on_the_snowflake_emulation(
        fakesnow_port: int,
        sandbox: t.Callable[..., Sandbox], tmp_path: Path) -> None:
    sb = sandbox(seed=21, scale="small", faults="off", environment="sandbox")
    exports = sb.settlements()
    scenario = exports.describe()
    drops = tmp_path / "drops"
    config = tap_config(sb, settlements_location=str(drops))
    exports.write(str(drops), "csv", "initial")
    run1 = run_tap(config, streams=["settlements"])
    exports.write(str(drops), "csv", "final")
    run2 = run_tap(config, state=run1.state, streams=["settlements"])

    payments = Batch(run_id="run_sf_payments")
    extracted = datetime.now(UTC)
    for payment in sb.truth("payments").values():
        payments.add("payments", payment, extracted)
    # One build (each costs minutes on the emulation); the per-payout replacement across
    # builds is proven on DuckDB (test_settlements_pipeline.py).
    _load(fakesnow_port, tmp_path / "raw.json",
          run1.records("settlements") + run2.records("settlements"), payments, False)
    _build(fakesnow_port, tmp_path, scenario)
    lines = snowflake_sql(fakesnow_port, "select payout_id, line_id, gross, fee from "
                                         "ANALYTICS.SETTLEMENT_LINES order by 1, 2")
    assert lines == sorted([x["payout_id"], x["line_id"], x["gross"], x["fee"]]
                           for x in exports.truth())
    counts = dict(map(tuple, snowflake_sql(  # type: ignore[arg-type]
        fakesnow_port, "select category, count(*) from ANALYTICS.PAYMENT_RECONCILIATION "
                       "group by 1")))
    assert counts == {k: v for k, v in scenario["expected_reconciliation"].items() if v}
