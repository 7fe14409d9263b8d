"""Each record's values against the contract's types, nullability and enums.

``ShapeChecker`` (drift.py) compares key sets; this checks what the keys hold. The contract's
properties (``schema.RESOURCE_PROPERTIES``) are compiled once per resource into a msgspec
type, and a page of conforming records is checked in one C call (~0.6 µs a record, half
the cost of record by record; bench/validation.py):
strings, integers (never a bool or a float), numbers, booleans, RFC 3339 timestamps with
a zone, nested objects and arrays of objects, ``null`` only where documented.

A value of the wrong type makes the record *breaking* (quarantined, never emitted
half-typed). A string outside a documented enum is *additive*: the vendor added a value,
the record is loaded and the value reported as drift.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing as t

import msgspec

Schema = dict[str, t.Any]
_TIMESTAMP = t.Annotated[dt.datetime, msgspec.Meta(tz=True)]
_SCALARS: dict[str, t.Any] = {"integer": int, "number": float, "boolean": bool}
_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")


@dataclasses.dataclass(frozen=True, slots=True)
class TypeVerdict:
    """A record that is not clean: a breaking type error, or new enum values (additive)."""

    invalid_field: str | None = None
    problem: str | None = None
    new_enum_values: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()

    @property
    def breaking(self) -> bool:
        return self.invalid_field is not None

    def reason(self) -> str:
        return f"wrong type or null in {self.invalid_field}: {self.problem}"


class TypeChecker:
    """The compiled check of one resource's records."""

    def __init__(self, resource: str, properties: dict[str, Schema]) -> None:
        self._type = _struct(resource, properties)
        self._page_type = list[self._type]  # type: ignore[name-defined]
        # None is the type check's business (nullable or not), never an enum's.
        self._enums = [(name, frozenset(schema["enum"]) | {None})
                       for name, schema in properties.items() if "enum" in schema]

    def check_page(self, data: list[t.Any]) -> dict[int, TypeVerdict] | None:
        """The verdicts of a page's unclean records by ``id(record)``; None when every
        record is clean (the common case: one C call and one set per enum for the page,
        half the cost of checking record by record)."""
        try:
            msgspec.convert(data, self._page_type)
        except msgspec.ValidationError:
            bad = {id(raw): v for raw in data if (v := self._check_types(raw)) is not None}
        else:
            bad = {}
        for name, allowed in self._enums:
            values = {raw.get(name) for raw in data if id(raw) not in bad} if bad else \
                {raw.get(name) for raw in data}
            if not values <= allowed:
                for raw in data:
                    if id(raw) not in bad:
                        new = self._new_enum_values(raw)
                        if new:
                            bad[id(raw)] = TypeVerdict(new_enum_values=new)
                break  # every enum of those records was looked at
        return bad or None

    def check(self, raw: dict[str, t.Any]) -> TypeVerdict | None:
        """One record; None when it is clean."""
        verdict = self._check_types(raw)
        if verdict is not None:
            return verdict
        new = self._new_enum_values(raw)
        return TypeVerdict(new_enum_values=new) if new else None

    def _check_types(self, raw: t.Any) -> TypeVerdict | None:
        try:
            msgspec.convert(raw, self._type)
        except msgspec.ValidationError as exc:
            return _invalid(str(exc))
        return None

    def _new_enum_values(self, raw: dict[str, t.Any]) -> tuple[str, ...]:
        return tuple(f"{name}={raw.get(name)!r}" for name, allowed in self._enums
                     if raw.get(name) not in allowed)


def _invalid(message: str) -> TypeVerdict:
    match = _PATH.search(message)
    field = match.group("path") if match else "(record)"
    problem = message[:match.start()] if match else message
    return TypeVerdict(invalid_field=field or "(record)", problem=problem)


def _struct(name: str, properties: dict[str, Schema]) -> type[msgspec.Struct]:
    fields = [(field, _python_type(f"{name}.{field}", schema))
              for field, schema in properties.items()]
    # Instances only live for the check: not tracked by the cyclic GC (none can form a cycle).
    return msgspec.defstruct(name.replace(".", "_"), fields, gc=False)


def _python_type(name: str, schema: Schema) -> t.Any:
    types = schema.get("type") or []
    kinds = [k for k in types if k != "null"]
    kind = kinds[0] if len(kinds) == 1 else None  # untyped or a union: not checked here
    if kind is None:
        return t.Any
    if kind == "string":
        py: t.Any = _TIMESTAMP if schema.get("format") == "date-time" else str
    elif kind in _SCALARS:
        py = _SCALARS[kind]
    elif kind == "array":
        py = list[_python_type(f"{name}[]", schema["items"])]  # type: ignore[misc]
    elif "properties" in schema and not schema.get("additionalProperties"):
        py = _struct(name, schema["properties"])
    else:
        py = dict  # free-form (metadata, payload)
    return py | None if "null" in types else py
