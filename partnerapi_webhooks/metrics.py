"""The receiver's own metrics, rendered in the Prometheus text exposition format (0.0.4).

Per process: with several workers, scrape each (or aggregate in Prometheus by instance).
"""

from __future__ import annotations

import threading
from collections import Counter

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
NAMESPACE = "partnerapi_webhooks"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    def __init__(self, environment: str) -> None:
        self.environment = environment
        self._lock = threading.Lock()
        self.accepted: Counter[str] = Counter()  # by notification type
        self.duplicates = 0
        self.rejected: Counter[str] = Counter()  # by reason
        self.errors = 0
        self._bucket_counts = [0] * len(BUCKETS)
        self._latency_sum = 0.0
        self._latency_count = 0

    def record(self, outcome: str, *, reason: str | None, kind: str | None, seconds: float) -> None:
        with self._lock:
            if outcome == "accepted":
                self.accepted[kind or "unknown"] += 1
            elif outcome == "duplicate":
                self.duplicates += 1
            elif outcome == "rejected":
                self.rejected[reason or "unknown"] += 1
            else:
                self.errors += 1
            self._latency_sum += seconds
            self._latency_count += 1
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self._bucket_counts[i] += 1

    def render(self) -> str:
        env = f'environment="{_escape(self.environment)}"'
        lines: list[str] = []

        def family(name: str, kind: str, help_text: str) -> None:
            lines.append(f"# HELP {NAMESPACE}_{name} {help_text}")
            lines.append(f"# TYPE {NAMESPACE}_{name} {kind}")

        with self._lock:
            family("accepted_total", "counter", "Notifications landed and acknowledged.")
            for kind, n in sorted(self.accepted.items()):
                lines.append(f'{NAMESPACE}_accepted_total{{{env},type="{_escape(kind)}"}} {n}')
            family("duplicates_total", "counter", "Deliveries of an already landed id (2xx).")
            lines.append(f"{NAMESPACE}_duplicates_total{{{env}}} {self.duplicates}")
            family("rejected_total", "counter", "Deliveries answered 4xx, by reason.")
            for reason, n in sorted(self.rejected.items()):
                lines.append(f'{NAMESPACE}_rejected_total{{{env},reason="{_escape(reason)}"}} {n}')
            family("errors_total", "counter", "Deliveries answered 5xx (landing failed).")
            lines.append(f"{NAMESPACE}_errors_total{{{env}}} {self.errors}")
            family(
                "request_duration_seconds", "histogram", "Time to answer a delivery, any outcome."
            )
            for bound, n in zip(BUCKETS, self._bucket_counts, strict=True):
                lines.append(
                    f'{NAMESPACE}_request_duration_seconds_bucket{{{env},le="{bound}"}} {n}'
                )
            count = self._latency_count
            lines.append(f'{NAMESPACE}_request_duration_seconds_bucket{{{env},le="+Inf"}} {count}')
            lines.append(f"{NAMESPACE}_request_duration_seconds_sum{{{env}}} {self._latency_sum}")
            lines.append(f"{NAMESPACE}_request_duration_seconds_count{{{env}}} {count}")
        return "\n".join(lines) + "\n"
