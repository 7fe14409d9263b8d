"""Fault injection: which misbehaviour (if any) a request gets.

Each kind has its own rate. A request that has just been hit by a fault is exempt from faults
when the same client repeats it (same method, path and query): the contract promises that the
repeated request succeeds, and this makes every fault recoverable even at rate 1.0.
"""

from __future__ import annotations

import random
import threading
from collections import Counter

KINDS = (
    "timeout",  # hang `hang_seconds`, then close without answering
    "slow",  # answer normally, but only after `hang_seconds`
    "http_500",
    "http_502",
    "http_503",
    "http_504",  # the page was computed, then a gateway timeout is returned
    "partial_page",  # 200 with fewer records in `data` than `count`
    "truncated_body",  # full Content-Length announced, connection closed mid-JSON
    "duplicate_page",  # the page starts with records an earlier page already returned
    "moved_record",  # a record is updated while the client pages through
    "rate_limit_burst",  # 429s for a while (vendor incident), Retry-After up to the cap
    "token_revoked",  # the bearer token is revoked early: 401 invalid_token
)
# Kinds that only make sense on a listing page.
LISTING_ONLY = frozenset({"http_504", "partial_page", "duplicate_page", "moved_record"})

PRESETS: dict[str, dict[str, float]] = {
    "off": dict.fromkeys(KINDS, 0.0),
    "mild": {"timeout": 0.003, "slow": 0.005, "http_500": 0.01, "http_502": 0.005,
             "http_503": 0.005, "http_504": 0.01, "partial_page": 0.01, "truncated_body": 0.01,
             "duplicate_page": 0.02, "moved_record": 0.02, "rate_limit_burst": 0.003,
             "token_revoked": 0.005},
    "heavy": {"timeout": 0.02, "slow": 0.02, "http_500": 0.04, "http_502": 0.03,
              "http_503": 0.03, "http_504": 0.04, "partial_page": 0.05, "truncated_body": 0.04,
              "duplicate_page": 0.08, "moved_record": 0.08, "rate_limit_burst": 0.015,
              "token_revoked": 0.03},
}


def resolve_rates(spec: str | dict[str, float]) -> dict[str, float]:
    if isinstance(spec, str):
        if spec not in PRESETS:
            raise ValueError(f"unknown fault preset {spec!r}; choose from {sorted(PRESETS)}")
        return dict(PRESETS[spec])
    unknown = set(spec) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {list(KINDS)}")
    rates = dict.fromkeys(KINDS, 0.0)
    for kind, rate in spec.items():
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"rate for {kind} must be within [0, 1]")
        rates[kind] = float(rate)
    return rates


class FaultInjector:
    def __init__(self, spec: str | dict[str, float], seed: int) -> None:
        self.rates = resolve_rates(spec)
        self.counts: Counter[str] = Counter()
        self._rng = random.Random(f"{seed}:faults")
        self._last_hit: dict[str, str] = {}  # client -> signature of its last faulted request
        self._lock = threading.Lock()

    def set(self, spec: str | dict[str, float]) -> None:
        self.rates = resolve_rates(spec)

    def pick(self, client: str, signature: str, listing: bool) -> str | None:
        with self._lock:
            if self._last_hit.get(client) == signature:
                del self._last_hit[client]
                return None
            for kind in KINDS:
                rate = self.rates[kind]
                if rate and (listing or kind not in LISTING_ONLY) and self._rng.random() < rate:
                    self._last_hit[client] = signature
                    self.counts[kind] += 1
                    return kind
            return None

    def uniform(self, lo: float, hi: float) -> float:
        with self._lock:
            return self._rng.uniform(lo, hi)

    def randint(self, lo: int, hi: int) -> int:
        with self._lock:
            return self._rng.randint(lo, hi)

    def sample(self, population: range, k: int) -> list[int]:
        with self._lock:
            return self._rng.sample(population, k)

    def uncount(self, kind: str | None) -> None:
        """A picked fault that cannot apply to this request (e.g. nothing to duplicate)."""
        if kind is not None:
            with self._lock:
                self.counts[kind] -= 1
