"""The tap's output against the tap of another revision, on one sandbox in one run (issue
16: raw row v2 must keep Singer bytes per event <= 1.8x the API bytes read, and tap records
per CPU-second no lower than before).

    git archive <rev> tap_partnerapi | tar -x -C /tmp/tap-before
    python -m bench.rawrow --reference /tmp/tap-before [--scale medium] [--rounds 3]
                           [--without _pa_extracted_at,_pa_run_id]

Both taps sync ``events`` (or ``--resource``) from the same sandbox process in interleaved
rounds, each in its own process with its own discovered catalog; their stdout is counted
through a pipe (what a loader receives: every message, the coverage ledger's included). CPU
per record is the run's CPU minus that of a run that lists nothing (start-up), best of the
rounds; the API bytes are the bare client's (``bench.floor``) on the same pages.

``--without``: a third, what-if tap (bench-only, never the tap's behaviour) that leaves the
named lineage fields out of every resource record, to price what each field costs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench.common import (
    ROOT,
    TAP,
    SandboxProcess,
    bench_sandbox,
    clean_env,
    run_measured,
    summary_of,
    tap_argv,
    tap_config,
)
from bench.throughput import FAR_FUTURE, run_floor


def _catalog(command: list[str], workdir: Path, name: str, config: Path,
             resource: str) -> Path:
    out = subprocess.run([*command, "--config", str(config), "--discover"], check=True,
                         capture_output=True, text=True, cwd=ROOT, env=clean_env())
    catalog = json.loads(out.stdout)
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] in {
                    resource, "coverage_ledger"}
    path = workdir / f"{name}.catalog.json"
    path.write_text(json.dumps(catalog))
    return path


def _run(sb: SandboxProcess, workdir: Path, command: list[str], name: str, resource: str,
         **settings: object) -> tuple[int, float, int]:
    """(records, CPU seconds, stdout bytes) of one tap process."""
    config = tap_config(workdir, sb.url, name, **settings)
    catalog = _catalog(command, workdir, name, config, resource)
    argv = [*command, *tap_argv(config, catalog)[1:]]
    m = run_measured(argv, stderr_path=workdir / f"{name}.log", count_stdout=True)
    if m.returncode:
        raise RuntimeError(f"{name} exited {m.returncode}; see {workdir}/{name}.log")
    records, _ = summary_of(config, resource)
    return records, m.cpu, m.out_bytes


_WITHOUT = """
import sys
import tap_partnerapi.client as client
from tap_partnerapi.tap import TapPartnerAPI
drop, write = {drop!r}, client.write_direct
def lean(stream, record, version):
    write(stream, {{k: v for k, v in record.items() if k not in drop}}, version)
client.write_direct = lean
TapPartnerAPI.cli()
"""


def measure(workdir: Path, reference: Path, scale: str, rounds: int,
            resource: str, without: tuple[str, ...] = ()) -> dict[str, dict[str, float]]:
    workdir.mkdir(parents=True, exist_ok=True)
    variants = {
        "before": [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(reference)!r}); "
                   "from tap_partnerapi.tap import TapPartnerAPI; TapPartnerAPI.cli()"],
        "after": [TAP],
    }
    if without:
        variants["without"] = [sys.executable, "-c", _WITHOUT.format(drop=set(without))]
    out: dict[str, dict[str, float]] = {}
    with bench_sandbox(workdir / "sandbox.log", scale=scale,
                       rate_limit_per_minute=1_000_000) as sb:
        sb.wait_ready()
        floor = run_floor(sb, workdir, resource)
        api_per_record = floor["api_bytes"] / floor["records"]
        best: dict[str, dict[str, float]] = {}
        for i in range(rounds):
            for name, command in variants.items():
                records, cpu, size = _run(sb, workdir, command, f"{name}.{i}", resource)
                if records != floor["records"]:
                    raise RuntimeError(f"{name}: {records} records, the floor read "
                                       f"{floor['records']}")
                _, idle_cpu, _ = _run(sb, workdir, command, f"{name}.{i}.empty", resource,
                                      start_date=FAR_FUTURE)
                per_cpu = records / max(cpu - idle_cpu, 1e-9)
                row = best.setdefault(name, {"records": records, "rps_per_cpu": 0.0,
                                             "singer_bytes": size, "rounds": []})
                row["rounds"].append(round(per_cpu))
                row["rps_per_cpu"] = max(row["rps_per_cpu"], per_cpu)
                row["singer_bytes"] = size
        for name, row in best.items():
            out[name] = {**row, "api_bytes_per_record": api_per_record,
                         "singer_bytes_per_record": row["singer_bytes"] / row["records"],
                         "bytes_ratio": row["singer_bytes"] / row["records"] / api_per_record}
    for name in out:
        out[name]["cpu_ratio_vs_before"] = out[name]["rps_per_cpu"] / out["before"]["rps_per_cpu"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rawrow", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, required=True,
                        help="a directory holding the tap_partnerapi package to compare with")
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--resource", default="events")
    parser.add_argument("--without", default="",
                        help="comma-separated lineage fields a what-if tap leaves out")
    parser.add_argument("--workdir", type=Path, default=ROOT / "output" / "bench-rawrow")
    args = parser.parse_args(argv)
    if not (args.reference / "tap_partnerapi" / "tap.py").exists():
        parser.error(f"--reference {args.reference}: no tap_partnerapi/tap.py there")
    without = tuple(f for f in args.without.split(",") if f)
    result = measure(args.workdir, args.reference, args.scale, args.rounds, args.resource,
                     without)
    (args.workdir / "results.json").write_text(json.dumps(result, indent=2))
    print(f"{'tap':8} {'records':>8} {'API B/rec':>10} {'Singer B/rec':>13} {'ratio':>6} "
          f"{'rec/CPU-s (best)':>17}  rounds")
    for name in ("before", "after", "without"):
        if name not in result:
            continue
        r = result[name]
        print(f"{name:8} {r['records']:>8} {r['api_bytes_per_record']:>10.0f} "
              f"{r['singer_bytes_per_record']:>13.0f} {r['bytes_ratio']:>5.2f}x "
              f"{r['rps_per_cpu']:>17,.0f}  {r['rounds']}")
    print(f"records per CPU-second, after / before: {result['after']['cpu_ratio_vs_before']:.2f}x")
    if without:
        print(f"what-if without {', '.join(without)}: "
              f"{result['without']['bytes_ratio']:.2f}x bytes, "
              f"{result['without']['cpu_ratio_vs_before']:.2f}x records per CPU-second")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
