"""``python -m bench [--quick]``: every benchmark of docs/benchmarks.md, one table.

Order matters on a two-core machine: the large sandbox builds its data (~1.5 min, one
core) while the pacing bench runs (mostly asleep: it spends a rate budget); the end-to-end
cycle and the throughput benches then run one at a time, each measured side in its own
process. Each figure is a ratio against a reference taken in the same run.

--quick: medium sandbox (~40k events), one pacing minute, no py-spy profile and no BATCH
run: about 3 minutes, for checking that the bench works, not for figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench import backfill, budget, cycle, memory, pacing, profile, throughput, warehouse_load
from bench.common import ROOT, SandboxProcess, bench_sandbox
from bench.throughput import run_tap

TARGETS = {"events_rps": 83_000, "ratio_vs_floor": 0.6, "pacing_share": 0.95,
           "cycle_seconds": 30.0, "budget_share": 0.90, "budget_ratio": 1.5}


def _whatif(sb: SandboxProcess, workdir: Path, since: str | None,
            reference_rps: float) -> dict[str, Any]:
    run = run_tap(sb, workdir, "events", "whatif", start_date=since,
                  command=[sys.executable, "-m", "bench.whatif"])
    return {"records": run.records, "rps": run.rps, "cpu": run.measured.cpu,
            "gain": run.rps / reference_rps}


def run_all(workdir: Path, quick: bool, skip: set[str]) -> dict[str, Any]:
    results: dict[str, Any] = {"quick": quick, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                         time.gmtime())}
    big = bench_sandbox(workdir / "sandbox.log", scale="medium" if quick else "large",
                        rate_limit_per_minute=1_000_000)
    big.start()
    try:
        if "pacing" not in skip:
            print("pacing: 120/min budget ...", file=sys.stderr, flush=True)
            results["pacing"] = pacing.measure(workdir, budget=120, minutes=1 if quick else 2)
        if "budget" not in skip:
            print("budget: a low-priority backfill alone, then an incremental beside it ...",
                  file=sys.stderr, flush=True)
            results["budget"] = budget.measure(
                workdir / "budget", **({"limit": 50, "window": 10.0, "windows": 2,
                                        "page_size": 5} if quick else {}))
        big.wait_ready()
        results["sandbox_build_seconds"] = big.build_seconds
        if "cycle" not in skip:
            print("end-to-end cycle: meltano run incremental ...", file=sys.stderr, flush=True)
            results["cycle"] = cycle.measure(workdir / "cycle")
        print("throughput: customers, events vs the bare client ...", file=sys.stderr,
              flush=True)
        results["customers"] = throughput.measure(big, workdir, "customers", 2 if quick else 3)
        events = throughput.measure(big, workdir, "events", 2 if quick else 1)
        boundaries = events.pop("boundaries")
        results["customers"].pop("boundaries", None)
        results["events"] = events
        total = boundaries[-1][0]
        small_n = min(250_000, total // 4)
        since = memory.since_for(boundaries, small_n)
        print("memory, what-if, profile ...", file=sys.stderr, flush=True)
        # Past the de-duplication window (2 x 200k keys), 250k, and (from the throughput
        # run) everything; 250k last, so the what-if follows its unpatched twin.
        results["memory"] = memory.measure(big, workdir, boundaries,
                                           (min(600_000, total // 2), small_n),
                                           events["tap_max_rss_mib"],
                                           events.get("floor_max_rss_mib", 0.0))
        # The what-if runs right after the unpatched run of the same records (memory's).
        base = results["memory"]["points"][1]
        results["whatif"] = _whatif(big, workdir, since, base["rps"])
        results["whatif"]["base_rps"] = base["rps"]
        if not quick and "profile" not in skip:
            results["profile"] = profile.profile(big, workdir, "events", since)
            results["profile_whatif"] = profile.profile(
                big, workdir, "events", since, name="profile-whatif",
                command=[sys.executable, "-m", "bench.whatif"])
        if "backfill" not in skip:
            print("backfill ...", file=sys.stderr, flush=True)
            results["backfill"] = backfill.measure(big, workdir, boundaries,
                                                   with_batch=not quick)
            results["backfill"]["ratio_vs_open_window"] = (results["backfill"]["rps"]
                                                           / events["tap_rps"])
        if "warehouse" not in skip:
            print("end to end into the warehouse: meltano run tap -> target-duckdb-bulk ...",
                  file=sys.stderr, flush=True)
            results["warehouse_load"] = warehouse_load.measure(big, workdir,
                                                               with_batch=not quick)
    finally:
        big.stop()
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return results


def _fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def table(r: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str]] = []
    for res in ("events", "customers"):
        t = r.get(res)
        if not t:
            continue
        rows.append((f"tap {res}: records/s (stream time)", _fmt(t["tap_rps"]),
                     f"floor {_fmt(t['floor_rps'])}/s",
                     ""))
        rows.append((f"tap {res}: ratio to bare client", _fmt(t["ratio_vs_floor"], 2) + "x",
                     f"msgspec floor: {_fmt(t['ratio_vs_msgspec_floor'], 2)}x",
                     f">= {TARGETS['ratio_vs_floor']}x"))
        rows.append((f"tap {res}: MB/s API JSON in / Singer out",
                     f"{_fmt(t['tap_api_mbps'], 1)} / {_fmt(t['tap_singer_mbps'], 1)}",
                     f"floor {_fmt(t['floor_api_mbps'], 1)} MB/s in", ""))
        rows.append((f"tap {res}: records per CPU-second of sync",
                     _fmt(t["tap_rps_per_core"]),
                     f"floor {_fmt(t['floor_rps_per_core'])}: "
                     f"{_fmt(t['ratio_per_core'], 2)}x; start-up {_fmt(t['tap_startup_cpu'], 1)}"
                     " CPU-s", ">= 83,000" if res == "events" else ""))
        rows.append((f"tap {res}: CPU share of wall", f"{_fmt(100 * t['tap_cpu_share'])}%",
                     f"{_fmt(t['records'])} records; < 100%: waiting (sandbox, other load)",
                     ""))
    w = r.get("whatif")
    if w:
        rows.append(("what-if: 4 MiB stdout buffer", _fmt(w["rps"]) + "/s",
                     f"{_fmt(w['gain'], 2)}x the unpatched tap "
                     f"({_fmt(w['base_rps'])}/s, same records)", ""))
    p = r.get("pacing")
    if p:
        rows.append(("pacing: share of budget", f"{_fmt(100 * p['share_of_budget'], 1)}%",
                     f"{p['requests']} req in {p['minutes']} min at {p['budget_per_minute']}"
                     "/min", ">= 95%"))
        rows.append(("pacing: 429s caused", str(p["http_429"]), "sandbox counter", "0"))
    g = r.get("budget")
    if g:
        where = f"sandbox: {g['limit']} requests per {_fmt(g['window_seconds'])} s window"
        rows.append(("budget: low-priority backfill alone, share",
                     f"{_fmt(100 * g['share_alone'], 1)}%",
                     f"{where}, over {g['windows']} windows",
                     f">= {TARGETS['budget_share']:.0%}"))
        rows.append(("budget: incremental beside it / alone", _fmt(g["ratio_beside_alone"], 2)
                     + "x", f"{_fmt(g['incremental_beside_seconds'], 1)} s vs "
                     f"{_fmt(g['incremental_alone_seconds'], 1)} s alone",
                     f"<= {TARGETS['budget_ratio']}x"))
        rows.append(("budget: 429s caused", str(g["http_429"]), "both sandboxes", "0"))
    c = r.get("cycle")
    if c:
        s = c["split"]
        rows.append(("EL+T cycle (meltano run incremental)", f"{_fmt(c['wall'], 1)} s",
                     f"{_fmt(c['records'])} records: tap {_fmt(s['tap'], 1)}, loader "
                     f"{_fmt(s['loader'], 1)}, dbt {_fmt(s['dbt'], 1)}, meltano "
                     f"{_fmt(s['meltano'], 1)} s", f"<= {TARGETS['cycle_seconds']:.0f} s"))
    m = r.get("memory")
    if m:
        # The de-dup window holds 2 x 200k keys: only beyond it must RSS stop growing.
        past = "past the dedup window" if m["points"][0]["records"] > 400_000 else \
            "inside the dedup window (not a flatness test)"
        pts = ", ".join(f"{_fmt(x['records'])}: {_fmt(x['max_rss_mib'])}"
                        for x in sorted(m["points"], key=lambda x: x["records"]))
        rows.append(("peak RSS MiB by records", pts,
                     f"{past} {_fmt(m['growth'], 2)}x; bare client "
                     f"{_fmt(m['floor_max_rss_mib'])} MiB", "flat"))
    b = r.get("backfill")
    if b:
        rows.append((f"backfill: {b['partitions']} partitions, records/s", _fmt(b["rps"]),
                     f"{_fmt(b['ratio_vs_open_window'], 2)}x open window; "
                     f"{_fmt(b['records'])} records", ""))
        if "batch_rps" in b:
            rows.append(("backfill with BATCH (jsonl.gz), records/s", _fmt(b["batch_rps"]),
                         f"{b['batch_files']} files (tap side)", ""))
    wl = r.get("warehouse_load")
    if wl:
        for key, label in (("records", "RECORD"), ("batch", "BATCH jsonl.gz"),
                           ("half", "RECORD, ~half the events")):
            if key in wl:
                x = wl[key]
                rows.append((f"end to end into the warehouse ({label}), events/s",
                             _fmt(x["rps"]),
                             f"{_fmt(x['ratio_vs_tap'], 2)}x the tap alone "
                             f"({_fmt(wl['tap_rps'])}/s); loader peak RSS "
                             f"{_fmt(x['loader_max_rss_mib'])} MiB; {_fmt(x['rows'])} events",
                             ">= 25,000/s, <= 1 GiB" if key != "half" else "flat RSS"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    header = ("figure", "value", "reference / detail", "target")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
             "-|-".join("-" * w for w in widths)]
    lines += [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="medium data, ~3 minutes")
    parser.add_argument("--workdir", type=Path, default=ROOT / "output" / "bench",
                        help="logs, configs, profiles and results.json (default: %(default)s)")
    parser.add_argument("--skip", default="", help="comma-separated: pacing,budget,cycle,"
                        "profile,backfill,warehouse")
    args = parser.parse_args(argv)
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    results = run_all(args.workdir, args.quick, {s for s in args.skip.split(",") if s})
    (args.workdir / "results.json").write_text(json.dumps(results, indent=1))
    print(table(results))
    print(f"\n(details: {args.workdir / 'results.json'})")
    return 0
