"""The demo's closing summary, read from what the pipeline left behind: the DuckDB warehouse,
dbt's run_results.json, the tap's run summary file, and the sandbox's own counters."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb

DELETABLE = ("customers", "plans", "invoice_items")


def curated_counts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    tables = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'analytics' order by table_name"
        ).fetchall()
    ]
    return [(t, con.execute(f'select count(*) from analytics."{t}"').fetchone()[0]) for t in tables]


def coverage(con: duckdb.DuckDBPyConnection) -> list[tuple[str, dt.datetime]]:
    """Per stream: the newest instant the coverage ledger proves was read without gap."""
    return con.execute(
        "select stream, max(covered_to) from raw.coverage_ledger group by stream order by stream"
    ).fetchall()


def flagged_deleted(con: duckdb.DuckDBPyConnection, resource: str) -> dict[str, int]:
    """Rows flagged is_deleted, by where the flag comes from (reconciliation, webhook)."""
    return dict(con.execute(f"select deleted_source, count(*) from analytics.{resource} "
                            "where is_deleted group by 1 order by 1").fetchall())


def dbt_results(run_results: Path) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Counts by node type and status, and the names of tests that did not pass."""
    if not run_results.exists():
        return {}, []
    counts: dict[str, dict[str, int]] = {}
    not_passed: list[str] = []
    for result in json.loads(run_results.read_text())["results"]:
        kind = result["unique_id"].split(".", 1)[0]
        by_status = counts.setdefault(kind, {})
        by_status[result["status"]] = by_status.get(result["status"], 0) + 1
        if kind == "test" and result["status"] != "pass":
            not_passed.append(f"{result['status']}: {result['unique_id'].split('.')[2]}")
    return counts, not_passed


def tap_totals(summary_file: Path) -> dict[str, Any]:
    lines = summary_file.read_text().splitlines() if summary_file.exists() else []
    summaries = [json.loads(line) for line in lines if line.strip()]
    retries: dict[str, int] = {}
    for s in summaries:
        for cause, n in (s.get("retries") or {}).items():
            if n:
                retries[cause] = retries.get(cause, 0) + n
    return {
        "retries": retries,
        "http_429": sum(s.get("http_429", 0) for s in summaries),
        "quarantined": sum(s.get("quarantined", 0) for s in summaries),
        "statuses": sorted({str(s.get("status")) for s in summaries}),
    }


def print_summary(
    db: Path, runs: list[dict], sandbox: Any, run_results: Path, summary_file: Path,
    webhooks: dict[str, int] | None = None, settlements: dict[str, Any] | None = None,
) -> bool:
    """Print the summary; True when dbt ran tests and none failed or errored."""
    print("\n================ demo summary ================")
    for run in runs:
        extra = ""
        if "late" in run:
            extra = f"  {run['new_versions']} new versions, {run['late']} of them late arrivals"
        print(
            f"{run['name']:<26} {run['requests']:>4} API requests {run['seconds']:>4.0f} s{extra}"
        )

    if webhooks:
        print(
            f"\nwebhooks: {webhooks['landed']} notifications landed once each (the sandbox "
            f"sends some twice), {webhooks['raw']} in raw; after incremental #2 "
            f"{webhooks['curated_from_push']} curated rows carry a pushed version and "
            f"{webhooks['deletes_flagged_early']} deletes were flagged from notices, before "
            f"any reconciliation"
        )
    now = dt.datetime.fromisoformat(sandbox.admin("GET", "/_sandbox/clock")["now"])
    with duckdb.connect(str(db), read_only=True) as con:
        print("\ncurated tables (schema analytics):")
        for table, count in curated_counts(con):
            print(f"  {table:<26} {count:>7} rows")
        print("\ndeletes (gone from the vendor's listings -> flagged is_deleted, by source; a "
              "webhook flag can come before the delete shows in listings):")
        for res in DELETABLE:
            vendor = len(sandbox.admin("GET", f"/_sandbox/deleted/{res}"))
            flags = flagged_deleted(con, res)
            print(f"  {res:<26} {vendor:>4} -> {sum(flags.values())} {json.dumps(flags)}")
        lags = [(s, (now - c.replace(tzinfo=dt.UTC)).total_seconds()) for s, c in coverage(con)]

    settled_ok = True
    if settlements:
        settled_ok = print_settlements(db, settlements)

    counts, not_passed = dbt_results(run_results)
    tests = counts.get("test", {})
    failed = sum(n for status, n in tests.items() if status in ("fail", "error"))
    print(
        f"\ndbt data tests (last build): {tests.get('pass', 0)} passed, {failed} failed, "
        f"{tests.get('warn', 0)} warnings; models {json.dumps(counts.get('model', {}))}"
    )
    for line in not_passed:
        print(f"  {line}")

    if lags:
        worst = max(lags, key=lambda x: x[1])
        print(
            f"\nfreshness: coverage ledger proves all {len(lags)} streams read up to "
            f"{worst[1]:.0f} s behind the vendor clock ({now:%Y-%m-%d %H:%M:%S} UTC)"
        )
    totals = tap_totals(summary_file)
    print(
        f"retries survived by the tap: {sum(totals['retries'].values())} "
        f"{json.dumps(totals['retries'])}; HTTP 429 waited out: {totals['http_429']}; "
        f"quarantined: {totals['quarantined']}; stream statuses: {totals['statuses']}"
    )
    faults = {k: v for k, v in sandbox.admin("GET", "/_sandbox/counters")["faults"].items() if v}
    print(f"faults the sandbox injected: {json.dumps(faults)}")
    ok = failed == 0 and bool(tests) and settled_ok
    print(f"\nresult: {'OK' if ok else 'FAILED'} - warehouse {db}")
    return ok


RECONCILIATION_LABELS = {"matched": "matched", "amount_mismatch": "amount mismatch",
                         "unknown_payment": "settled, unknown payment",
                         "not_settled": "succeeded, not settled",
                         "awaiting_settlement": "awaiting settlement"}


def print_settlements(db: Path, scenario: dict[str, Any]) -> bool:
    """Settlement lines and the reconciliation mart next to what the sandbox expects; True
    when they agree."""
    with duckdb.connect(str(db), read_only=True) as con:
        payouts, lines = con.sql("select count(distinct payout_id), count(*) "
                                 "from analytics.settlement_lines").fetchone() or (0, 0)
        found = dict(con.sql("select category, count(*) from "
                             "analytics.payment_reconciliation group by 1").fetchall())
    expected = scenario["expected_reconciliation"]
    print(f"\nsettlement files: {payouts} payouts, {lines} current lines in "
          f"analytics.settlement_lines (sandbox truth: {scenario['payouts']} payouts, "
          f"{scenario['lines']} lines); faults: "
          f"{json.dumps(sorted(set(scenario['fault_payouts'].values())))}")
    print(f"payment reconciliation (as of {scenario['as_of']}, "
          f"{scenario['grace_days']} days' grace):")
    for category, label in RECONCILIATION_LABELS.items():
        mark = "" if found.get(category, 0) == expected[category] else \
            f"  <- sandbox expects {expected[category]}"
        print(f"  {label:<26} {found.get(category, 0):>7}{mark}")
    return (payouts, lines) == (scenario["payouts"], scenario["lines"]) and all(
        found.get(c, 0) == n for c, n in expected.items())
