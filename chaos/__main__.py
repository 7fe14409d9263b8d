"""`python -m chaos` (`make chaos`): the long convergence run, then the rename scenario,
then the figures table. Exit 0 only when every mismatch count is 0 and no run failed
unexpectedly. `--overlap-hours 0 --expect-mismatches` removes the overlap safeguard and
exits 0 only if the comparison then catches the late data it loses."""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
from pathlib import Path

from chaos.figures import figures_table
from chaos.pipeline import ROOT
from chaos.scenario import ChaosConfig, run_convergence


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--overlap-hours", type=float, default=None,
                        help="override every tap plugin's overlap (default: the project's)")
    parser.add_argument("--expect-mismatches", action="store_true",
                        help="succeed only if mismatches are found (safeguard demonstration)")
    parser.add_argument("--skip-rename", action="store_true")
    parser.add_argument("--workdir", type=Path, default=ROOT / "output" / "chaos")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the sandbox

    shutil.rmtree(args.workdir, ignore_errors=True)
    cfg = ChaosConfig(cycles=args.cycles, seed=args.seed, overlap_hours=args.overlap_hours,
                      sweep_every=8, workdir=args.workdir / "convergence")
    report = run_convergence(cfg, then_rename=not args.skip_rename)
    ok = not report.unexpected_failures
    for failure in report.unexpected_failures:
        print(f"UNEXPECTED RUN FAILURE {failure}")
    print("\n" + report.findings.report())

    if report.rename is not None:
        print("\n" + report.rename.describe())
        ok = ok and report.rename.ok

    print("\n" + figures_table(report))
    if args.expect_mismatches:
        print(f"\nsafeguard demonstration: {report.findings.total} mismatches "
              f"({'caught' if report.findings.total else 'NOT caught'})")
        return 0 if report.findings.total else 1
    ok = ok and report.findings.total == 0
    print(f"\nresult: {'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
