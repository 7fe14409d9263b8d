"""`partnerapi-ops`: status at a glance, metrics, health check → alerts, locked Meltano runs.

Settings come from the environment (see partnerapi_ops.config and docs/operations/running.md,
'Settings').
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from partnerapi_ops import backfill_plan, runner
from partnerapi_ops.alerts import AlertSink
from partnerapi_ops.config import OpsConfig
from partnerapi_ops.health import evaluate
from partnerapi_ops.metrics import OpsSnapshot, publish, render
from partnerapi_ops.sources import to_epoch


def _ago(now: float, epoch: float | None) -> str:
    if epoch is None:
        return "-"
    s = max(0.0, now - epoch)
    if s < 120:
        return f"{s:.0f}s"
    if s < 7200:
        return f"{s / 60:.0f}m"
    if s < 172800:
        return f"{s / 3600:.1f}h"
    return f"{s / 86400:.1f}d"


def _status(snap: OpsSnapshot, cfg: OpsConfig, sink: AlertSink) -> str:
    now = snap.now
    incidents = sink.open_incidents()
    slo = cfg.freshness_slo_minutes * 60
    rows = [("ENV", "STREAM", "LAST RUN", "STATUS", "RECORDS", "RETRIES", "429", "WAITED",
             "FRESH", "COVERED", "GAPS", "QUAR")]  # fmt: skip
    for key in snap.streams():
        last = snap.last(key)
        wh = snap.warehouse
        rows.append(
            (
                key[0],
                key[1],
                _ago(now, last.finished_epoch) + " ago" if last else "-",
                str(last.status) if last else "-",
                str(last.records or 0) if last else "-",
                str(sum(last.retries.values())) if last else "-",
                str(last.http_429 or 0) if last else "-",
                f"{float(last.rate_limit_wait_seconds or 0):.0f}s" if last else "-",
                (_ago(now, wh.newest_updated_at.get(key)) if wh else "?")
                + ("!" if (snap.staleness_seconds(key) or 0) > slo else ""),
                _ago(now, wh.covered_to.get(key)) if wh else "?",
                str(wh.coverage_gaps.get(key, 0)) if wh else "?",
                str(last.quarantined or 0) if last else "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    stale = [k for k in snap.streams() if (snap.staleness_seconds(k) or 0) > slo]
    failing = sum(len(v) for v in snap.dbt.failed.values()) if snap.dbt else None
    failed_runs = [k for k in snap.streams() if (last := snap.last(k)) and not last.ok]
    problems = [
        f"{n} {what}"
        for n, what in (
            (len(incidents), "open incident(s)"),
            (len(stale), "stale stream(s)"),
            (len(failed_runs), "stream(s) whose last run failed"),
            (failing or 0, "failing dbt test(s)"),
        )
        if n
    ]
    verdict = "NOT OK: " + ", ".join(problems) if problems else "OK"
    head = [
        f"partnerapi{f' [{cfg.environment}]' if cfg.environment else ''} {verdict} — as of "
        f"{time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime(now))}",
        f"freshness SLO {cfg.freshness_slo_minutes:g} min (! = beyond it): "
        + (f"{len(stale)} stream(s) stale" if stale else "met")
        + ("" if snap.warehouse else " (warehouse absent or busy: not evaluated)"),
        "dbt tests: "
        + (
            "no run_results.json"
            if failing is None
            else f"{failing} failing of {snap.dbt.tests_total}"  # type: ignore[union-attr]
        ),
        "",
        *lines,
    ]
    if incidents:
        head += ["", "Open incidents:"]
        for key, inc in sorted(incidents.items()):
            head.append(
                f"  {key}  since {inc['opened_at']}: {inc.get('last_summary') or inc['summary']}"
            )
    return "\n".join(head)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"]:
        # Its own parser: every option it does not know goes to `meltano run`.
        return runner.main(argv[1:])
    parser = argparse.ArgumentParser(prog="partnerapi-ops", description=__doc__)
    parser.add_argument(
        "--now",
        help="evaluate as of this ISO timestamp instead of the wall clock (replays, tests)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "run",
        add_help=False,
        help="meltano run under a per-state-id kernel lock; exit 75 = skipped "
        "(`partnerapi-ops run --help`)",
    )
    sub.add_parser("status", help="human at-a-glance view of every stream and open incidents")
    m = sub.add_parser("metrics", help="print Prometheus exposition; write textfile, push")
    m.add_argument("--no-publish", action="store_true", help="only print")
    sub.add_parser("check", help="evaluate health, open/resolve incidents, publish metrics")
    sub.add_parser("incidents", help="open incidents as JSON")
    r = sub.add_parser("resolve", help="resolve an incident by hand (sends the resolve message)")
    r.add_argument("key")
    b = sub.add_parser("backfill-plan", help="windows of a backfill and its expected duration")
    b.add_argument("--start", required=True, help="first day (inclusive), e.g. 2024-11-01")
    b.add_argument("--end", required=True, help="last day (exclusive), e.g. 2026-11-01")
    b.add_argument("--window-days", type=int, default=7)
    b.add_argument("--concurrency", type=int, default=1)
    b.add_argument("--budget", type=int, default=backfill_plan.VENDOR_LIMIT_PER_MINUTE,
                   help="requests/min cap for all windows together")
    b.add_argument("--records-per-day", type=float,
                   default=backfill_plan.EVENTS_PER_DAY + backfill_plan.BILLING_PER_DAY,
                   help="new or changed records a day (vendor: 120 M events + 12 M billing)")
    args = parser.parse_args(argv)

    if args.command == "backfill-plan":
        try:
            print(backfill_plan.describe_plan(args.start, args.end, args.window_days,
                                              args.budget, args.concurrency,
                                              args.records_per_day))
        except ValueError as exc:
            parser.error(f"backfill-plan: {exc}")
        return 0

    cfg = OpsConfig.from_env()
    sink = AlertSink(cfg.state_path, cfg.webhook_url, environment=cfg.environment)
    now = None
    if args.now:
        now = to_epoch(args.now)
        if now is None:
            parser.error(f"--now: not an ISO timestamp: {args.now!r}")

    if args.command == "incidents":
        print(json.dumps(sink.open_incidents(), indent=2, sort_keys=True))
        return 0
    if args.command == "resolve":
        print("resolved" if sink.resolve(args.key, "resolved by hand") else "not open")
        return 0

    snap = OpsSnapshot.load(cfg, now)
    if args.command == "status":
        print(_status(snap, cfg, sink))
    elif args.command == "metrics":
        sys.stdout.write(render(snap) if args.no_publish else publish(snap, cfg))
    elif args.command == "check":
        result = evaluate(snap, cfg)
        done = sink.reconcile(result.alerts, result.kinds)
        publish(snap, cfg)
        print(
            json.dumps(
                {
                    "evaluated": sorted(result.kinds),
                    "active": sorted(a.key for a in result.alerts),
                    **done,
                },
                sort_keys=True,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
