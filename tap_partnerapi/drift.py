"""Schema drift: additive fields are reported, missing or renamed fields quarantine.

The vendor adds optional fields without notice (additive, harmless) and rarely renames or
removes one (breaking: loading would turn the field into silent nulls). The check is a
set comparison of each payload's keys with the documented fields, top level and nested
fixed-shape objects; free-form objects (``metadata``, ``payload``) are not checked.

For an additive field the tap also records which JSON types its values had
(``FieldTypes``), so the warehouse can type the new column from the drift report without
reading raw again (``contract.warehouse_type_of``).
"""

from __future__ import annotations

import dataclasses
import re
import typing as t


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]

    @property
    def breaking(self) -> bool:
        return bool(self.missing)

    def reason(self) -> str:
        text = "documented field(s) missing: " + ", ".join(self.missing)
        if self.unexpected:
            text += "; undocumented field(s) present: " + ", ".join(self.unexpected)
            text += " (possible rename)"
        return text


OK = Verdict((), ())


class ShapeChecker:
    """Compares payloads with the documented shape of one resource."""

    def __init__(self, properties: dict[str, dict[str, t.Any]]) -> None:
        self.top = frozenset(properties)
        self.objects: list[tuple[str, frozenset[str]]] = []
        self.arrays: list[tuple[str, frozenset[str]]] = []
        for name, schema in properties.items():
            if schema.get("additionalProperties"):
                continue
            if "properties" in schema:
                self.objects.append((name, frozenset(schema["properties"])))
            items = schema.get("items")
            if isinstance(items, dict) and "properties" in items:
                self.arrays.append((name, frozenset(items["properties"])))

    def check(self, raw: dict[str, t.Any]) -> Verdict:
        """Fast when the payload has exactly the documented shape (the common case)."""
        keys = raw.keys()
        clean = keys == self.top
        if clean:
            for name, expected in self.objects:
                value = raw[name]
                if value is not None and (type(value) is not dict
                                          or value.keys() != expected):
                    clean = False
                    break
            else:
                for name, expected in self.arrays:
                    if any(type(item) is dict and item.keys() != expected
                           for item in raw[name] or ()):
                        clean = False
                        break
        return OK if clean else self._diff(raw)

    def _diff(self, raw: dict[str, t.Any]) -> Verdict:
        missing = sorted(self.top - raw.keys())
        unexpected = sorted(raw.keys() - self.top)
        for name, expected in self.objects:
            value = raw.get(name)
            if isinstance(value, dict):
                missing += [f"{name}.{k}" for k in sorted(expected - value.keys())]
                unexpected += [f"{name}.{k}" for k in sorted(value.keys() - expected)]
        for name, expected in self.arrays:
            value = raw.get(name)
            seen_missing: set[str] = set()
            seen_extra: set[str] = set()
            for item in value if isinstance(value, list) else ():
                if isinstance(item, dict):
                    seen_missing |= expected - item.keys()
                    seen_extra |= item.keys() - expected
            missing += [f"{name}[].{k}" for k in sorted(seen_missing)]
            unexpected += [f"{name}[].{k}" for k in sorted(seen_extra)]
        return Verdict(tuple(missing), tuple(unexpected))


# -- what an undocumented field holds (schema_drift.json_types) ------------------------------

# The contract's timestamp form (RFC 3339, UTC); the vendor writes microseconds, any
# fraction is accepted.
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z\Z")
_KIND_OF_TYPE = {bool: "boolean", int: "integer", float: "number", dict: "object",
                 list: "array", type(None): "null"}


def json_type(value: t.Any) -> str:
    """One of ``contract.JSON_TYPES``: a string shaped as a timestamp is ``timestamp``."""
    if type(value) is str:
        return "timestamp" if _TIMESTAMP.match(value) else "string"
    return _KIND_OF_TYPE.get(type(value), "string")


def values_at(raw: dict[str, t.Any], path: str) -> list[t.Any]:
    """The values at a drift path: ``field``, ``object.field`` or ``array[].field``."""
    if "." not in path:
        return [raw[path]] if path in raw else []
    head, name = path.split(".", 1)
    if head.endswith("[]"):
        items = raw.get(head[:-2])
        return [item[name] for item in items if isinstance(item, dict) and name in item] \
            if isinstance(items, list) else []
    value = raw.get(head)
    return [value[name]] if isinstance(value, dict) and name in value else []


class FieldTypes:
    """The JSON types seen so far in one run for each undocumented field of one stream."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = {}

    def observe(self, raw: dict[str, t.Any], path: str) -> bool:
        """Record the types of ``path``'s values in ``raw``; True when the set grew (or
        the field is new), i.e. its ``schema_drift`` row must be written (again)."""
        types = {json_type(v) for v in values_at(raw, path)}
        known = self.seen.get(path)
        if known is None:
            self.seen[path] = types
            return True
        if types <= known:
            return False
        known |= types
        return True

    def json_types(self, path: str) -> str:
        """Sorted, comma-separated (``"integer,null"``): one string column on any warehouse."""
        return ",".join(sorted(self.seen.get(path, ())))
