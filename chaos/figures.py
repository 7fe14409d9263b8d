"""The figures table `make chaos` prints."""

from __future__ import annotations

import datetime as dt

from chaos.scenario import ChaosReport


def figures_table(report: ChaosReport) -> str:
    cfg = report.config
    runs = report.runs
    by_job: dict[str, int] = {}
    for run in runs:
        by_job[run.job] = by_job.get(run.job, 0) + 1
    killed = sum(r.killed for r in runs)
    c = report.sandbox_counters
    rows: list[tuple[str, str]] = [
        ("cycles", str(cfg.cycles)),
        ("meltano runs", f"{len(runs)} ({', '.join(f'{j} {n}' for j, n in by_job.items())})"),
        ("runs SIGKILLed mid-sync (then run again)", str(killed)),
        ("runs failed on purpose (rename -> quarantine)",
         str(sum("quarantined" in t for t in report.tolerated_failures))),
        ("runs failed, unexpected", str(len(report.unexpected_failures))),
        ("vendor requests / token requests / pages",
         f"{c.get('requests', 0)} / {c.get('token_requests', 0)} / {c.get('pages', 0)}"),
        ("deterministic late records (2 h / 48 h)",
         f"{sum(1 for t in report.late_touched if _lag_h(t) < 3)} / "
         f"{sum(1 for t in report.late_touched if _lag_h(t) >= 3)}"),
    ]
    rows.append(("records compared per table", ""))
    rows += [(f"  {table}", str(n)) for table, n in sorted(report.findings.compared.items())]
    rows.append((f"faults injected by kind (total {sum(report.faults.values())})", ""))
    rows += [(f"  {kind}", str(n)) for kind, n in sorted(report.faults.items())]
    rows.append((f"tap retries by cause (total {sum(report.retries.values())})", ""))
    rows += [(f"  {cause}", str(n)) for cause, n in sorted(report.retries.items())]
    rows.append(("deletes (flagged / never loaded)", ""))
    rows += [(f"  {k}", str(n)) for k, n in sorted(report.findings.info.items())]
    rows.append(("MISMATCHES (must be 0)", str(report.findings.total)))
    rows += [(f"  {k}", str(n)) for k, n in sorted(report.findings.mismatches.items())]
    rows.append(("wall time", f"{report.seconds:.0f} s"))
    width = max(len(k) for k, _ in rows) + 2
    return "\n".join(f"{k:<{width}}{v:>12}" if v else k for k, v in rows)


def _lag_h(touched: dict[str, str]) -> float:
    def parse(s: str) -> dt.datetime:
        return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))

    return (parse(touched["visible_at"]) - parse(touched["updated_at"])).total_seconds() / 3600
