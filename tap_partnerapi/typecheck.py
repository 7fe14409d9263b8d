"""Each record's values against the contract's types, nullability and enums.

``ShapeChecker`` (drift.py) compares key sets; this checks what the keys hold. The contract's
properties (``schema.RESOURCE_PROPERTIES``) are compiled once per resource into a msgspec
type, so the check of a conforming record is one C call (~1.5 µs; see bench/validation.py):
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
        self._enums = [(name, frozenset(v for v in schema["enum"] if v is not None))
                       for name, schema in properties.items() if "enum" in schema]

    def check(self, raw: dict[str, t.Any]) -> TypeVerdict | None:
        """None for a clean record (the common, fast case)."""
        try:
            msgspec.convert(raw, self._type)
        except msgspec.ValidationError as exc:
            return _invalid(str(exc))
        new = [f"{name}={raw[name]!r}" for name, allowed in self._enums
               if raw[name] is not None and raw[name] not in allowed]
        return TypeVerdict(new_enum_values=tuple(new)) if new else None


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
