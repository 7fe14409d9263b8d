"""Versioned storage with late visibility.

Every change is a `Version` with the time it becomes visible (`visible_at`). What a listing sees
at simulated time N is, per id, the newest visible version (by `updated_at`); a version that
becomes visible after a newer one already did is simply superseded. Deletes are versions too.
"""

from __future__ import annotations

import bisect
import heapq
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tap_partnerapi.contract import DELETABLE as _DELETABLE
from tap_partnerapi.contract import RESOURCE_NAMES
from tap_partnerapi.contract import RESOURCES as _CONTRACT

# The vendor's resources, id fields and deletability: the contract's (one definition).
RESOURCES = RESOURCE_NAMES
DELETABLE = frozenset(_DELETABLE)


def id_field(resource: str) -> str:
    return _CONTRACT[resource].id_field


try:  # msgspec ships with singer-sdk[msgspec], already a dependency; ~15x faster than json
    import msgspec

    _encode = msgspec.json.encode
    loads = msgspec.json.decode
except ImportError:  # pragma: no cover - stdlib fallback, same bytes
    _encode = None
    loads = json.loads


def dumps(record: dict[str, Any]) -> bytes:
    """Compact JSON, keys in insertion order, UTF-8 (not ASCII-escaped)."""
    if _encode is not None:
        return _encode(record)
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(slots=True)
class Version:
    id: str
    updated_at: str  # canonical string: string order is time order
    visible_at: int  # simulated epoch microseconds
    body: bytes  # pre-serialized so a page is served by joining bytes
    deleted: bool = False


class Table:
    def __init__(self, resource: str) -> None:
        self.resource = resource
        self.id_field = id_field(resource)
        self.current: dict[str, Version] = {}  # newest visible version of each live id
        self.keys: list[tuple[str, str]] = []  # sorted (updated_at, id) of `current`
        self.latest: dict[str, Version] = {}  # newest written version, visible or not
        self.deleted: set[str] = set()
        self._pending: list[tuple[int, int, Version]] = []
        self._bulk: list[tuple[int, int, Version]] | None = None
        self._seq = 0

    def write(self, version: Version) -> None:
        if version.deleted:
            self.latest.pop(version.id, None)
        else:
            self.latest[version.id] = version
        self._seq += 1
        if self._bulk is not None:
            self._bulk.append((version.visible_at, self._seq, version))
        else:
            heapq.heappush(self._pending, (version.visible_at, self._seq, version))

    def begin_bulk(self) -> None:
        self._bulk = []

    def end_bulk(self, now: int) -> None:
        """Initial load: a million heap pops would dominate the build, and without deletes
        the order of applying versions does not matter (newest updated_at wins)."""
        items, self._bulk = self._bulk or [], None
        self._pending = [item for item in items if item[0] > now]
        heapq.heapify(self._pending)
        for visible_at, _, v in items:
            if visible_at <= now:
                self._apply(v, bulk=True)
        self.keys = sorted((v.updated_at, i) for i, v in self.current.items())

    def pending(self) -> list[Version]:
        return [v for _, _, v in self._pending]

    def release(self, now: int) -> int:
        """Make every version with visible_at <= now visible; returns how many were applied."""
        due: list[Version] = []
        while self._pending and self._pending[0][0] <= now:
            due.append(heapq.heappop(self._pending)[2])
        if not due:
            return 0
        bulk = len(due) > 2000 or len(due) * 20 > len(self.keys)
        for v in due:
            self._apply(v, bulk)
        if bulk:
            self.keys = sorted((v.updated_at, i) for i, v in self.current.items())
        return len(due)

    def _apply(self, v: Version, bulk: bool) -> None:
        if v.id in self.deleted:
            return
        old = self.current.get(v.id)
        if v.deleted:
            self.deleted.add(v.id)
            if old is not None:
                del self.current[v.id]
                if not bulk:
                    self._unindex(old)
            return
        if old is not None:
            if old.updated_at >= v.updated_at:
                return  # a late version older than what is already visible: superseded
            if not bulk:
                self._unindex(old)
        self.current[v.id] = v
        if not bulk:
            bisect.insort(self.keys, (v.updated_at, v.id))

    def _unindex(self, v: Version) -> None:
        key = (v.updated_at, v.id)
        i = bisect.bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            del self.keys[i]

    def window(self, since: str | None, before: str | None,
               after: tuple[str, str] | None) -> tuple[int, int]:
        """Index range of `keys` for a listing: [start, end)."""
        keys = self.keys
        if after is not None:
            start = bisect.bisect_right(keys, after)
            if since is not None:
                start = max(start, bisect.bisect_left(keys, (since,)))
        elif since is not None:
            start = bisect.bisect_left(keys, (since,))
        else:
            start = 0
        end = bisect.bisect_left(keys, (before,)) if before is not None else len(keys)
        return start, max(start, end)


class Store:
    def __init__(self) -> None:
        self.tables = {r: Table(r) for r in RESOURCES}

    def load(self, resource: str, versions: Iterable[Version]) -> None:
        table = self.tables[resource]
        for v in versions:
            table.write(v)

    def release(self, now: int) -> int:
        return sum(t.release(now) for t in self.tables.values())
