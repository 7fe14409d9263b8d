"""The vendor contract, written once: every resource's fields, id, deletability and PII.

This module is the ONE definition of what the Partner API documents (its "Fields",
"Resources" and "Deletes" sections). Everything else is derived from it or checked against
it by ``tests/pipeline/test_contract.py``:

* ``tap_partnerapi.schema`` builds the JSON schemas (``RESOURCE_PROPERTIES``) the drift
  check compares payloads with;
* ``transform/macros/contract.sql`` is generated from it
  (``python -m tap_partnerapi.contract dbt``) for dbt staging, marts and tests;
* the sandbox's records and the dbt test fixtures are checked against it.

Field kinds are JSON kinds plus ``timestamp`` (a string in RFC 3339, UTC). Nullability and
enums are exactly the vendor's words: a field is nullable only where the vendor writes
"(nullable)". Nested objects list their documented keys (``fields``); free-form objects
(``metadata``, the events' ``payload``, whose shape evolves monthly) do not.

PII classes - what a curated (mart) table may hold of a field:

* ``clear``: the value as sent;
* ``hashed``: only ``sha256(salt || lower(trim(value)))``, in a ``<field>_hash`` column
  (the salt is a deployment secret, see transform/macros/pii.sql), so a value can be joined
  and counted without being read;
* ``dropped``: not in any curated table at all (raw keeps it, for audit and replay).

Documented fields carry their class here. An undocumented field the vendor starts sending
has no class yet: it takes its resource's ``new_field_class`` - ``dropped`` on a resource
that carries PII (a hashed low-entropy value such as a birth date is reversible with a
dictionary, so hashing is not a safe default), ``clear`` elsewhere - until someone
classifies it, which the dbt side makes one line of configuration.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing as t
from pathlib import Path

KINDS = ("string", "integer", "number", "boolean", "timestamp", "object", "array")
PII_CLASSES = ("clear", "hashed", "dropped")

#: The warehouse type of each kind (DuckDB names; the dbt side maps ``json`` to VARIANT on
#: Snowflake).
WAREHOUSE_TYPES = {"string": "varchar", "integer": "bigint", "number": "double",
                   "boolean": "boolean", "timestamp": "timestamp", "object": "json",
                   "array": "json"}

#: What the tap records of an undocumented field's values (``schema_drift.json_types``):
#: the kinds above, ``timestamp`` meaning a string in the contract's timestamp form, plus
#: ``null``.
JSON_TYPES = (*KINDS, "null")

#: How the JSON types seen for an undocumented field become one warehouse type: the first
#: rule whose ``any_of`` kinds were seen (and, when given, one of ``and_any_of``) wins;
#: nothing but nulls seen yet: ``varchar``. Mixed kinds are JSON, as are objects and arrays.
TYPE_RULES: tuple[tuple[frozenset[str], frozenset[str] | None, str], ...] = (
    (frozenset({"object", "array"}), None, "json"),
    (frozenset({"boolean"}), frozenset({"string", "timestamp", "integer", "number"}), "json"),
    (frozenset({"boolean"}), None, "boolean"),
    (frozenset({"integer", "number"}), frozenset({"string", "timestamp"}), "json"),
    (frozenset({"number"}), None, "double"),
    (frozenset({"integer"}), None, "bigint"),
    (frozenset({"string"}), None, "varchar"),
    (frozenset({"timestamp"}), None, "timestamp"),
)
UNTYPED = "varchar"


def warehouse_type_of(json_types: t.Iterable[str]) -> str:
    """The warehouse type for a field whose values had these JSON types."""
    seen = set(json_types)
    for any_of, and_any_of, result in TYPE_RULES:
        if seen & any_of and (and_any_of is None or seen & and_any_of):
            return result
    return UNTYPED


@dataclasses.dataclass(frozen=True)
class Field:
    name: str
    kind: str
    nullable: bool = False
    enum: tuple[str, ...] = ()
    #: The documented keys of an object, or of each item of an array; None: free-form.
    fields: tuple[Field, ...] | None = None
    pii: str = "clear"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind {self.kind!r} is not one of {KINDS}")
        if self.pii not in PII_CLASSES:
            raise ValueError(f"{self.name}: PII class {self.pii!r} not one of {PII_CLASSES}")

    @property
    def warehouse_type(self) -> str:
        return WAREHOUSE_TYPES[self.kind]


@dataclasses.dataclass(frozen=True)
class Resource:
    name: str
    id_field: str
    deletable: bool
    fields: tuple[Field, ...]

    @property
    def carries_pii(self) -> bool:
        return any(f.pii != "clear" for f in self.fields)

    @property
    def new_field_class(self) -> str:
        """The class of an undocumented field until someone classifies it."""
        return "dropped" if self.carries_pii else "clear"

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


def _f(name: str, kind: str = "string", **kw: t.Any) -> Field:
    return Field(name, kind, **kw)


def _ts(name: str, **kw: t.Any) -> Field:
    return Field(name, "timestamp", **kw)


def _money(name: str) -> Field:
    return Field(name, "integer")  # minor units


def _enum(name: str, *values: str) -> Field:
    return Field(name, "string", enum=values)


def _obj(name: str, *fields: Field, **kw: t.Any) -> Field:
    return Field(name, "object", fields=fields or None, **kw)


_CURRENCY = _f("currency")  # lowercase ISO 4217
_METADATA = _obj("metadata")  # free-form
_STAMPS = (_ts("created_at"), _ts("updated_at"))

RESOURCES: dict[str, Resource] = {r.name: r for r in (
    Resource("customers", "id", True, (
        _f("id"), _f("email", pii="hashed"), _f("name", pii="hashed"),
        _f("phone", pii="hashed"),
        _obj("address", _f("line1"), _f("city"), _f("postal_code"), _f("country"),
             pii="hashed"),
        _CURRENCY, _money("balance"), _enum("tax_exempt", "none", "exempt", "reverse"),
        _METADATA, *_STAMPS)),
    Resource("plans", "id", True, (
        _f("id"), _f("product_name"), _f("nickname", nullable=True), _money("amount"),
        _CURRENCY, _enum("interval", "month", "year"), _f("interval_count", "integer"),
        _f("active", "boolean"), _f("trial_period_days", "integer", nullable=True),
        *_STAMPS)),
    Resource("subscriptions", "id", False, (
        _f("id"), _f("customer_id"), _f("plan_id"),
        _enum("status", "trialing", "active", "past_due", "canceled", "unpaid"),
        _f("quantity", "integer"), _ts("current_period_start"), _ts("current_period_end"),
        _f("cancel_at_period_end", "boolean"), _ts("canceled_at", nullable=True),
        _ts("trial_end", nullable=True),
        Field("items", "array", fields=(_f("plan_id"), _f("quantity", "integer"))),
        _obj("discount", _f("coupon"), _f("percent_off", "number"), nullable=True),
        _METADATA, *_STAMPS)),
    Resource("invoices", "id", False, (
        _f("id"), _f("customer_id"), _f("subscription_id", nullable=True), _f("number"),
        _enum("status", "draft", "open", "paid", "void", "uncollectible"), _CURRENCY,
        _money("subtotal"), _money("tax"), _money("total"), _money("amount_due"),
        _money("amount_paid"), _ts("period_start"), _ts("period_end"),
        _ts("due_date", nullable=True), _ts("paid_at", nullable=True), *_STAMPS)),
    Resource("invoice_items", "id", True, (
        _f("id"), _f("invoice_id"), _f("subscription_id", nullable=True),
        _f("plan_id", nullable=True), _f("description"), _f("quantity", "integer"),
        _money("unit_amount"), _money("amount"), _CURRENCY,
        _obj("period", _ts("start"), _ts("end")), _f("proration", "boolean"), *_STAMPS)),
    Resource("payments", "id", False, (
        _f("id"), _f("invoice_id", nullable=True), _f("customer_id"), _f("transaction_id"),
        _money("amount"), _CURRENCY,
        _enum("status", "pending", "succeeded", "failed", "refunded", "partially_refunded",
              "disputed"),
        _obj("method", _f("type"), _f("card_brand"), _f("last4")),
        _f("failure_code", nullable=True), _money("amount_refunded"),
        _ts("captured_at", nullable=True), *_STAMPS)),
    Resource("refunds", "id", False, (
        _f("id"), _f("payment_id"), _f("transaction_id"), _money("amount"), _CURRENCY,
        _f("reason", nullable=True), _enum("status", "pending", "succeeded", "failed"),
        *_STAMPS)),
    Resource("events", "event_id", False, (
        _f("event_id"), _f("transaction_id"),
        _enum("event_type", "AUTHORIZED", "CAPTURED", "VOIDED", "REFUNDED",
              "CHARGEBACK_OPENED", "DISPUTE_UPDATED", "CHARGEBACK_WON", "CHARGEBACK_LOST"),
        # Monotonic per (transaction_id, event_type), may skip numbers.
        _f("event_version", "integer"), _ts("occurred_at"), *_STAMPS,
        # Its shape evolves monthly and differs per event type: free-form, so its keys are
        # neither drift nor breaking.
        _obj("payload"))),
)}

RESOURCE_NAMES: tuple[str, ...] = tuple(RESOURCES)
DELETABLE: tuple[str, ...] = tuple(r.name for r in RESOURCES.values() if r.deletable)


# -- the generated dbt macros -------------------------------------------------------------

DBT_MACROS_PATH = Path("transform") / "macros" / "contract.sql"
GENERATE_COMMAND = "python -m tap_partnerapi.contract dbt"


def _jinja(value: t.Any) -> str:
    """A Python value as a Jinja literal (strings, numbers, None, lists, tuples, dicts)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, tuple):
        return "(" + ", ".join(map(_jinja, value)) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(map(_jinja, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_jinja(k)}: {_jinja(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _per_resource(name: str, doc: str, values: dict[str, t.Any]) -> str:
    lines = [f"{{#- {doc} -#}}", f"{{% macro {name}(resource) -%}}", "    {%- set by = {"]
    for key, value in values.items():
        if isinstance(value, list) and len(value) > 3:  # one item a line: reviewable diffs
            lines.append(f"        {_jinja(key)}: [")
            lines += [f"            {_jinja(item)}," for item in value]
            lines.append("        ],")
        else:
            lines.append(f"        {_jinja(key)}: {_jinja(value)},")
    lines += ["    } -%}", "    {{ return(by[resource]) }}", "{%- endmacro %}", ""]
    return "\n".join(lines)


def _constant(name: str, doc: str, value: t.Any) -> str:
    return "\n".join([f"{{#- {doc} -#}}", f"{{% macro {name}() -%}}",
                      f"    {{{{ return({_jinja(value)}) }}}}", "{%- endmacro %}", ""])


def _type_rule_sql() -> str:
    """``TYPE_RULES`` as one aggregate SQL expression over a ``json_types`` column."""
    def seen(kinds: frozenset[str]) -> str:
        return " or ".join(f"{{{{ column }}}} like '%{k}%'" for k in sorted(kinds))

    lines = ["    case"]
    for any_of, and_any_of, result in TYPE_RULES:
        cond = f"max(case when {seen(any_of)} then 1 else 0 end) = 1"
        if and_any_of is not None:
            cond += f"\n          and max(case when {seen(and_any_of)} then 1 else 0 end) = 1"
        lines.append(f"        when {cond}\n            then '{result}'")
    lines.append(f"        else '{UNTYPED}'")
    lines.append("    end")
    return "\n".join(lines)


def render_dbt() -> str:
    """The text of ``transform/macros/contract.sql``."""
    parts = [
        f"{{#- GENERATED from tap_partnerapi/contract.py by `{GENERATE_COMMAND}`: do not edit",
        "    by hand (tests/pipeline/test_contract.py fails when it and the generator disagree).",
        "    The vendor contract for dbt: resources, id fields, deletability, documented",
        "    fields with their warehouse type (varchar, bigint, double, boolean, timestamp,",
        "    json) and PII class (clear, hashed, dropped). -#}",
        "",
        _constant("contract_resources", "The vendor's resources, in contract order.",
                  list(RESOURCE_NAMES)),
        _per_resource("contract_id", "The id field of a resource (`id`, `event_id`).",
                      {r.name: r.id_field for r in RESOURCES.values()}),
        _constant("contract_deletable", "The resources the vendor can hard-delete.",
                  list(DELETABLE)),
        _per_resource("contract_fields",
                      "Documented top-level fields: (name, warehouse type, PII class).",
                      {r.name: [(f.name, f.warehouse_type, f.pii) for f in r.fields]
                       for r in RESOURCES.values()}),
        _per_resource("contract_nullable", "Documented fields that may be null.",
                      {r.name: [f.name for f in r.fields if f.nullable]
                       for r in RESOURCES.values()}),
        _per_resource("contract_enums", "Documented enum fields and their values.",
                      {r.name: {f.name: list(f.enum) for f in r.fields if f.enum}
                       for r in RESOURCES.values()}),
        _per_resource("contract_new_field_class",
                      "The PII class of an undocumented field until it is classified.",
                      {r.name: r.new_field_class for r in RESOURCES.values()}),
        _constant("contract_pii_classes", "The PII class vocabulary.", list(PII_CLASSES)),
        _constant("contract_json_types",
                  "What raw.schema_drift.json_types may list (comma-separated, sorted).",
                  list(JSON_TYPES)),
        "{#- The warehouse type of an undocumented field, as an aggregate over the rows of",
        "    raw.schema_drift for that field: `column` is their json_types column. -#}",
        "{% macro contract_type_of_json_types(column) -%}",
        _type_rule_sql(),
        "{%- endmacro %}",
        "",
    ]
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tap_partnerapi.contract",
                                     description="Generate files from the vendor contract.")
    commands = parser.add_subparsers(dest="command", required=True)
    dbt = commands.add_parser("dbt", help=f"write {DBT_MACROS_PATH} (dbt macros)")
    dbt.add_argument("--check", action="store_true",
                     help="exit 1 if the file differs from what would be written")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parents[1]
    path = root / DBT_MACROS_PATH
    text = render_dbt()
    if args.check:
        current = path.read_text() if path.exists() else ""
        if current != text:
            print(f"{DBT_MACROS_PATH} is out of date: run {GENERATE_COMMAND}", file=sys.stderr)
            return 1
        return 0
    path.write_text(text)
    print(f"wrote {DBT_MACROS_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
