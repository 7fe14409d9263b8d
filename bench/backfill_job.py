"""The whole ``backfill`` job on the large sandbox (issue 17): ``meltano run backfill`` - the
backfill plugin writing BATCH jsonl.gz files, target-duckdb-bulk bulk-reading them, then
``dbt build`` of every model and every test on every row (``build-full``) - into an empty
warehouse, and dbt's share of it.

    python -m bench.backfill_job [--scale large] [--workdir DIR]

Isolated like bench.cycle_scale (own system database, warehouse, dbt target). Figures: the
job's wall seconds and records per second, the EL part (tap and loader: the job's first
block) and the dbt block as Meltano times them, dbt's share of the wall time, and the peak
RSS of each kind of process of the run's tree.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.common import ROOT
from bench.cycle_scale import _meltano_run, _records, log_rows, whole_sandbox


def measure(scale: str, workdir: Path) -> dict[str, Any]:
    with whole_sandbox(scale, workdir) as (_, env):
        job = _meltano_run(env, workdir / "backfill.log", "backfill")
    records = _records(workdir / "summary.jsonl")
    blocks = _block_seconds(workdir / "backfill.log")
    return {"scale": scale, "records": records, "wall": job["wall"],
            "el_seconds": blocks[0] if blocks else None,
            "dbt_seconds": blocks[-1] if len(blocks) > 1 else None,
            "peak_rss_mib": job["peak_rss_mib"]}


def _block_seconds(log: Path) -> list[float]:
    return [float(row["duration_seconds"]) for row in log_rows(log)
            if row.get("event") == "Block run completed"]


def table(r: dict[str, Any]) -> str:
    rss = r["peak_rss_mib"]
    return "\n".join([
        "| job | records | wall s | records/s | tap + loader s | dbt build s (share) "
        "| peak RSS MiB (tap / loader / dbt) |",
        "|---|---|---|---|---|---|---|",
        f"| backfill, {r['scale']} | {r['records']:,} | {r['wall']:.1f} | "
        f"{r['records'] / r['wall']:,.0f} | {r['el_seconds']:.1f} | {r['dbt_seconds']:.1f} "
        f"({r['dbt_seconds'] / r['wall']:.0%}) | {rss.get('tap', 0):.0f} / "
        f"{rss.get('loader', 0):.0f} / {rss.get('dbt', 0):.0f} |"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="large")
    parser.add_argument("--workdir", type=Path, default=ROOT / "output" / "bench-backfill-job")
    args = parser.parse_args(argv)
    result = measure(args.scale, args.workdir.resolve() / args.scale)
    print(json.dumps(result), file=sys.stderr)
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
