"""The cost of checking every record against the contract's types (tap_partnerapi/typecheck.py).

    python -m bench.validation [--scale medium] [--repeats 3] [--resources events,payments]

The same tap twice per resource, on one sandbox in its own process, interleaved so that a
noisy neighbour hurts both alike: as shipped, and with ``TypeChecker.check_page`` and
``check`` replaced in process by no-ops (the reference, never used in production). Printed:
records/s over the
stream's sync time (best of ``--repeats``), CPU seconds per 100k records, and the ratio
checked / unchecked of each (target: throughput drops by less than 10 %, ratio >= 0.90).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import SandboxProcess, bench_sandbox
from bench.throughput import TapRun, run_tap

UNCHECKED = [sys.executable, "-m", "bench.validation", "tap-without-typecheck"]


def measure(sb: SandboxProcess, workdir: Path, resource: str, repeats: int) -> dict[str, Any]:
    best: dict[str, TapRun] = {}
    for _ in range(repeats):
        for name, command in (("checked", None), ("unchecked", UNCHECKED)):
            run = run_tap(sb, workdir, resource, f"{name}.{resource}", command=command)
            if name not in best or run.rps > best[name].rps:
                best[name] = run
    checked, unchecked = best["checked"], best["unchecked"]
    if checked.records != unchecked.records:
        raise RuntimeError(f"{resource}: {checked.records} != {unchecked.records} records")
    cpu = {k: v.measured.cpu / max(v.records, 1) * 1e5 for k, v in best.items()}
    return {"resource": resource, "records": checked.records,
            "rps_checked": round(checked.rps), "rps_unchecked": round(unchecked.rps),
            "rps_ratio": round(checked.rps / unchecked.rps, 3),
            "cpu_s_per_100k_checked": round(cpu["checked"], 3),
            "cpu_s_per_100k_unchecked": round(cpu["unchecked"], 3),
            "cpu_ratio": round(cpu["unchecked"] / cpu["checked"], 3)}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["tap-without-typecheck"]:
        from tap_partnerapi.tap import TapPartnerAPI
        from tap_partnerapi.typecheck import TypeChecker

        TypeChecker.check = lambda self, raw: None  # type: ignore[method-assign]
        TypeChecker.check_page = lambda self, data: None  # type: ignore[method-assign]
        sys.argv = [sys.argv[0], *args[1:]]
        TapPartnerAPI.cli()
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.validation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--resources", default="events,payments")
    opts = parser.parse_args(args)
    with tempfile.TemporaryDirectory(prefix="bench-validation-") as tmp:
        workdir = Path(tmp)
        with bench_sandbox(workdir / "sandbox.log", scale=opts.scale,
                           rate_limit_per_minute=1_000_000) as sb:
            for resource in opts.resources.split(","):
                print(json.dumps(measure(sb, workdir, resource, opts.repeats)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
