"""Backfill: a closed window (start_date, end_date) split into partitions with their own
bookmarks, as the ``backfill`` job runs it; with and without BATCH messages.

BATCH files (singer-sdk ``batch_config``, jsonl + gzip) are measured on the tap side here;
``bench.warehouse_load`` measures them loaded end to end by target-duckdb-bulk.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

from bench.common import SandboxProcess
from bench.throughput import run_tap


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def measure(sb: SandboxProcess, workdir: Path, boundaries: list[tuple[int, str]],
            partitions: int = 7, with_batch: bool = True) -> dict[str, Any]:
    """The middle quarter of the events' history, in ``partitions`` windows."""
    total = boundaries[-1][0]
    start = next(u for n, u in boundaries if n >= total // 4)
    end = next(u for n, u in boundaries if n >= total // 2)
    days = (_ts(end) - _ts(start)).total_seconds() / 86400 / partitions
    settings = {"start_date": start, "end_date": end, "partition_days": round(days, 4)}
    plain = run_tap(sb, workdir, "events", "backfill", **settings)
    result: dict[str, Any] = {
        "window": [start, end], "partitions": partitions, "records": plain.records,
        "seconds": plain.stream_seconds, "rps": plain.rps, "wall": plain.measured.wall,
    }
    if with_batch:
        root = workdir / "batch-files"
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        batch = run_tap(sb, workdir, "events", "backfill.batch", batch_config={
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": root.as_uri(), "prefix": "bench-"}}, **settings)
        result.update(batch_records=batch.records, batch_seconds=batch.stream_seconds,
                      batch_rps=batch.rps, batch_files=len(list(root.iterdir())))
        shutil.rmtree(root, ignore_errors=True)
    return result
