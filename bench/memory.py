"""Peak RSS of the tap against the number of records synced, next to the bare client's.

The tap keeps one decoded page (5,000 records) plus its version de-duplication window
(two generations of ``dedup_memory_records`` keys, 200,000 each by default); past
that window memory must stay flat, so the figure is RSS at ~1M records over RSS at 600k
(250k is shown too: below the window, RSS still grows with the keys remembered).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.common import SandboxProcess
from bench.throughput import run_tap


def since_for(boundaries: list[tuple[int, str]], records: int) -> str | None:
    """A start date giving about the last ``records`` records (page-aligned)."""
    total = boundaries[-1][0]
    for count, updated_at in boundaries:
        if total - count <= records:
            return updated_at
    return None


def measure(sb: SandboxProcess, workdir: Path, boundaries: list[tuple[int, str]],
            sizes: tuple[int, ...], full_run_rss: float, floor_rss: float) -> dict[str, Any]:
    points = []
    for size in sizes:
        since = since_for(boundaries, size)
        run = run_tap(sb, workdir, "events", f"memory.{size}", start_date=since)
        points.append({"records": run.records, "max_rss_mib": run.measured.max_rss_mib,
                       "rps": run.rps, "start_date": since})
    points.append({"records": boundaries[-1][0], "max_rss_mib": full_run_rss})
    return {"points": points, "floor_max_rss_mib": floor_rss,
            # sizes[0] is past the dedup window: from there on RSS must not grow.
            "growth": full_run_rss / points[0]["max_rss_mib"]}
