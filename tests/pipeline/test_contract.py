"""One definition of the vendor contract (tap_partnerapi/contract.py): every other copy of a
contract fact is derived from it or checked here, so editing one copy alone fails a test.

Copies: the tap's JSON schemas (tap_partnerapi/schema.py), the generated dbt macros
(transform/macros/contract.sql), the sandbox's records (partnerapi_sandbox/records.py and
evolve.py write them field by field), the dbt test fixtures' raw rows
(tests/support/dbt_fixtures.py) and the raw-row table of docs/design.md.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from partnerapi_sandbox.sandbox import Sandbox
from tap_partnerapi import contract
from tap_partnerapi.contract import RESOURCES, Field, warehouse_type_of
from tap_partnerapi.drift import json_type
from tap_partnerapi.schema import (
    DELETABLE_RESOURCES,
    ID_FIELDS,
    RESOURCE_PROPERTIES,
    resource_schema,
)

ROOT = Path(__file__).resolve().parents[2]
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")
PY_KIND = {"string": str, "timestamp": str, "integer": int, "boolean": bool, "object": dict,
           "array": list}


def _schema_matches(field: Field, schema: dict, where: str) -> None:
    kind = "string" if field.kind == "timestamp" else field.kind
    assert schema["type"] == ([kind, "null"] if field.nullable else [kind]), where
    assert (schema.get("format") == "date-time") == (field.kind == "timestamp"), where
    enum = schema.get("enum")
    assert (enum or []) == ([*field.enum, None] if field.nullable and field.enum
                            else list(field.enum)), where
    if field.kind == "object":
        nested = schema.get("properties")
        assert (nested is None) == (field.fields is None), where
        assert bool(schema.get("additionalProperties")) == (field.fields is None), where
        for sub in field.fields or ():
            _schema_matches(sub, nested[sub.name], f"{where}.{sub.name}")
        assert list(nested or ()) == [s.name for s in field.fields or ()], where
    if field.kind == "array":
        items = schema["items"]
        assert list(items.get("properties", ())) == [s.name for s in field.fields or ()], where
        for sub in field.fields or ():
            _schema_matches(sub, items["properties"][sub.name], f"{where}[].{sub.name}")


def test_the_tap_schemas_are_the_contract():
    assert list(RESOURCE_PROPERTIES) == list(RESOURCES)
    for name, resource in RESOURCES.items():
        props = RESOURCE_PROPERTIES[name]
        assert list(props) == [f.name for f in resource.fields], name
        for field in resource.fields:
            _schema_matches(field, props[field.name], f"{name}.{field.name}")
        assert ID_FIELDS[name] == resource.id_field
        assert (name in DELETABLE_RESOURCES) == resource.deletable
        # The raw row keys on the contract's id field.
        assert resource.id_field in resource_schema(name)["properties"]


def test_the_contract_says_what_the_vendor_says():
    """Spot checks of facts the vendor text states (CONTRACT.md, "Resources"/"Fields")."""
    assert contract.DELETABLE == ("customers", "plans", "invoice_items")
    assert RESOURCES["events"].id_field == "event_id"
    customers = RESOURCES["customers"]
    assert {f.name for f in customers.fields if f.pii != "clear"} == {
        "email", "name", "phone", "address"}
    assert customers.new_field_class == "dropped"
    assert RESOURCES["payments"].new_field_class == "clear"
    # "description" carries no "(nullable)" in the vendor's text (issue 16's drift).
    assert not RESOURCES["invoice_items"].field("description").nullable
    assert RESOURCES["invoice_items"].field("plan_id").nullable


def test_the_generated_dbt_macros_are_up_to_date():
    path = ROOT / contract.DBT_MACROS_PATH
    assert path.read_text() == contract.render_dbt(), (
        f"{contract.DBT_MACROS_PATH} differs from the contract: run "
        f"`{contract.GENERATE_COMMAND}` (never edit the generated file by hand)")


def test_the_generated_dbt_macros_carry_every_field_and_class():
    text = (ROOT / contract.DBT_MACROS_PATH).read_text()
    assert contract.GENERATE_COMMAND in text.splitlines()[0]
    for resource in RESOURCES.values():
        for field in resource.fields:
            assert f"('{field.name}', '{field.warehouse_type}', '{field.pii}')" in text


@pytest.mark.parametrize(("types", "expected"), [
    ({"integer"}, "bigint"), ({"integer", "null"}, "bigint"), ({"integer", "number"}, "double"),
    ({"timestamp", "null"}, "timestamp"), ({"timestamp", "string"}, "varchar"),
    ({"boolean"}, "boolean"), ({"array"}, "json"), ({"object", "null"}, "json"),
    ({"string", "integer"}, "json"), ({"boolean", "integer"}, "json"), ({"null"}, "varchar"),
    (set(), "varchar"),
])
def test_new_field_types_become_one_warehouse_type(types, expected):
    assert warehouse_type_of(types) == expected


def test_the_type_rule_in_sql_is_the_python_rule():
    """The generated aggregate evaluated by DuckDB over json_types rows agrees with
    ``warehouse_type_of`` for every combination of two observed type sets."""
    import duckdb
    import jinja2

    text = (ROOT / contract.DBT_MACROS_PATH).read_text()
    module = jinja2.Environment().from_string(text).make_module({"return": lambda v: v})
    expr = str(module.contract_type_of_json_types("json_types"))
    kinds = contract.JSON_TYPES
    cases = [(a, b) for a in kinds for b in kinds]
    rows = [(i, ",".join(sorted(set(pair)))) for i, pair in enumerate(cases)]
    with duckdb.connect() as con:
        con.execute("create table d (i int, json_types varchar)")
        con.executemany("insert into d values (?, ?)", rows)
        got = dict(con.execute(f"select i, {expr} from d group by i").fetchall())
    for i, pair in enumerate(cases):
        assert got[i] == warehouse_type_of(pair), pair


def _conforms(value: object, field: Field, where: str, seen_null: set[str]) -> None:
    if value is None:
        assert field.nullable, f"{where} is null, the contract says not nullable"
        seen_null.add(where)
        return
    if field.kind == "number":
        assert type(value) in (int, float), where
    else:
        assert type(value) is PY_KIND[field.kind], f"{where}: {value!r} is not {field.kind}"
    if field.kind == "timestamp":
        assert TIMESTAMP.match(value), f"{where}: {value!r}"
    assert json_type(value) == field.kind or field.kind == "number", where
    if field.enum:
        assert value in field.enum, f"{where}: {value!r} not in {field.enum}"
    if field.kind == "object" and field.fields is not None:
        assert list(value) == [f.name for f in field.fields], where
        for sub in field.fields:
            _conforms(value[sub.name], sub, f"{where}.{sub.name}", seen_null)
    if field.kind == "array" and field.fields is not None:
        for item in value:
            assert list(item) == [f.name for f in field.fields], where
            for sub in field.fields:
                _conforms(item[sub.name], sub, f"{where}[].{sub.name}", seen_null)


def test_the_sandbox_writes_the_documented_shape():
    """Every record the sandbox holds - the initial build and a day of simulated changes
    (creates, updates, status moves) - has the contract's fields, in order, of the
    contract's kinds, null only where nullable, enum values only from the enum; and every
    nullable field is null somewhere (the sandbox exercises what the contract allows)."""
    sb = Sandbox(seed=5, scale="small", start_time="2026-11-01T00:00:00Z")
    sb.advance(hours=24)
    for name, resource in RESOURCES.items():
        seen_null: set[str] = set()
        records = sb.truth(name)
        assert records, name
        for record in records.values():
            assert list(record) == [f.name for f in resource.fields], name
            for field in resource.fields:
                _conforms(record[field.name], field, f"{name}.{field.name}", seen_null)
        nullable = {f"{name}.{f.name}" for f in resource.fields if f.nullable}
        assert nullable <= seen_null, f"never null in the sandbox: {nullable - seen_null}"


def test_the_sandbox_serves_added_fields_in_its_truth():
    sb = Sandbox(seed=5, scale="small", start_time="2026-11-01T00:00:00Z",
                 schema_mode="additive")
    sb.add_field("customers", "loyalty_points", "integer")
    records = list(sb.truth("customers").values())
    assert all("preferred_locales" in r and "loyalty_points" in r for r in records)
    kinds = {json_type(r["loyalty_points"]) for r in records}
    assert kinds == {"integer", "null"}
    with pytest.raises(ValueError, match="not a new field"):
        sb.add_field("customers", "email", "string")


def test_the_dbt_fixtures_build_raw_rows_of_the_tap_shape():
    """tests/support/dbt_fixtures.py declares the raw tables it loads with the tap's own schema."""
    from tests.support import dbt_fixtures

    batch = dbt_fixtures.Batch(run_id="contract")
    payload = {"id": "pay_1", "updated_at": "2026-11-01T00:00:00.000000Z"}
    batch.add("payments", payload, dbt_fixtures.datetime(2026, 11, 1,
                                                         tzinfo=dbt_fixtures.UTC))
    schemas = {m["stream"]: m for m in map(json.loads, batch.messages())
               if m["type"] == "SCHEMA"}
    assert schemas["payments"]["schema"] == resource_schema("payments")
    assert schemas["payments"]["key_properties"] == ["environment", "id", "_pa_version"]


def test_the_design_doc_lists_the_raw_row():
    """docs/design.md, "Tap output: resource streams": one table row per raw-row field."""
    text = (ROOT / "docs" / "design.md").read_text()
    section = text.split("## Tap output: resource streams", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([a-z_<> ]+)` \|", section, flags=re.M)
    expected = [("<id field>" if name == "id" else name)
                for name in resource_schema("customers")["properties"]]
    assert documented == expected


def test_the_chaos_comparison_checks_fields_by_their_pii_class():
    """chaos/compare.py reads classes from the contract: a hashed field in clear, a missing
    column for a field the vendor added, or an unclassified new customers field in clear
    are findings; an unclassified new customers field left out is not."""
    from chaos.compare import Findings
    from chaos.compare import field_plan as _field_plan

    documented = [f.name for f in RESOURCES["customers"].fields]
    hashed = {"email_hash", "name_hash", "phone_hash", "address_hash"}
    clear = {n for n in documented if n not in {"email", "name", "phone", "address"}}
    ok = Findings()
    plan = _field_plan(ok, "customers", "customers", [*documented, "loyalty_points"],
                       dict.fromkeys(clear | hashed | {"loyalty_points"}, "VARCHAR"))
    assert ok.total == 0 and ("email", "hashed") in plan and ("loyalty_points", "clear") in plan
    dropped = Findings()
    plan = _field_plan(dropped, "customers", "customers", [*documented, "loyalty_points"],
                       dict.fromkeys(clear | hashed, "VARCHAR"))
    assert dropped.total == 0 and ("loyalty_points", "dropped") in plan
    leak = Findings()
    _field_plan(leak, "customers", "customers", documented,
                dict.fromkeys(clear | hashed | {"email"}, "VARCHAR"))
    assert leak.mismatches == {"pii_in_clear": 1}
    missing = Findings()
    _field_plan(missing, "payments", "payments",
                [*(f.name for f in RESOURCES["payments"].fields), "risk_score"],
                dict.fromkeys((f.name for f in RESOURCES["payments"].fields), "VARCHAR"))
    assert missing.mismatches == {"column_missing": 1}
