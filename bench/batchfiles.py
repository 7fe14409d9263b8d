"""BATCH files vs RECORD messages, tap side: the backfill's bulk-file writer.

``PYTHONPATH=. .venv/bin/python -m bench.batchfiles [--scale medium] [--repeats 2]``

One sandbox in its own process (faults off, rate limit off); the events stream synced by
the tap with RECORD messages to /dev/null and with ``batch_config`` (jsonl + gzip files in
output/), interleaved, best of ``repeats`` each: records/s over the stream's sync time and
peak RSS, as ratios BATCH / RECORD.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from bench.common import ROOT, bench_sandbox
from bench.throughput import run_tap


def measure(workdir: Path, scale: str = "medium", repeats: int = 2,
            batch_size: int = 10_000) -> dict[str, Any]:
    workdir = workdir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    root = workdir / "files"
    plain, batch, files = [], [], 0
    with bench_sandbox(workdir / "sandbox.log", scale=scale,
                       rate_limit_per_minute=1_000_000) as sb:
        sb.wait_ready()
        for n in range(repeats):
            plain.append(run_tap(sb, workdir, "events", f"record.{n}"))
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            batch.append(run_tap(sb, workdir, "events", f"batch.{n}", batch_config={
                "encoding": {"format": "jsonl", "compression": "gzip"},
                "storage": {"root": root.as_uri(), "prefix": "bench-"},
                "batch_size": batch_size}))
            files = len(list(root.iterdir()))
    best_plain = max(plain, key=lambda r: r.rps)
    best_batch = max(batch, key=lambda r: r.rps)
    return {"scale": scale, "records": best_batch.records, "files": files,
            "record_rps": best_plain.rps, "batch_rps": best_batch.rps,
            "ratio": best_batch.rps / best_plain.rps,
            "record_rss_mib": best_plain.measured.max_rss_mib,
            "batch_rss_mib": best_batch.measured.max_rss_mib}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.batchfiles", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(measure(ROOT / "output" / "bench" / "batchfiles", args.scale,
                             args.repeats), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
