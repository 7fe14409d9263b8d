"""Version hashes of raw payloads and the in-run de-duplication of versions.

``_pa_version`` is the sha256 of the payload's canonical JSON (sorted keys, no spaces,
UTF-8), so the same bytes fetched twice - a repeated page, an overlap re-read, a re-run
backfill - carry the same key and upsert onto themselves downstream.
"""

from __future__ import annotations

import hashlib
import typing as t

import msgspec

_encoder = msgspec.json.Encoder(order="sorted")


def version_of(payload: t.Any) -> str:
    return hashlib.sha256(_encoder.encode(payload)).hexdigest()


def encode_version(payload: t.Any) -> tuple[str, bytes]:
    """``(_pa_version, de-dup key)`` from one encode and one hash.

    The de-dup key is the first 16 bytes of the digest: the payload holds the record's
    id, so equal keys mean the same (id, version), and 128 bits make a collision within
    two generations of keys negligible (~2**-90).
    """
    digest = hashlib.sha256(_encoder.encode(payload)).digest()
    return digest.hex(), digest[:16]


class VersionDedup:
    """Remembers recently emitted versions (their digest keys) in bounded memory.

    Within one run a version can only come back from a repeated page, a cursor restart
    or a record seen again while paging - all close to where it was first seen, because
    listings are ordered by ``updated_at``. Two generations of at most ``capacity`` keys
    each remember the recent past; older keys are forgotten, so a multi-day backfill
    keeps a flat memory profile (a very old repeat would at worst be emitted again, and
    the loader's key makes that an idempotent upsert).
    """

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = max(1, capacity)
        # 16-byte digests, not (id, hex) tuples: ~0.1 instead of ~0.36 KiB per key.
        self._current: set[t.Hashable] = set()
        self._previous: set[t.Hashable] = set()

    def seen(self, key: t.Hashable) -> bool:
        """True if ``key`` was already emitted; otherwise remember it and return False."""
        if key in self._current or key in self._previous:
            return True
        if len(self._current) >= self.capacity:
            self._previous = self._current
            self._current = set()
        self._current.add(key)
        return False

    def __len__(self) -> int:
        return len(self._current) + len(self._previous)
