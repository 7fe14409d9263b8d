"""Health conditions → alerts. Pure: reads an OpsSnapshot, returns what is wrong now.

``evaluate`` also returns the alert kinds it could judge. A kind whose source is missing
(no dbt run yet, the warehouse locked by a load) is left out, so the sink neither opens nor
resolves those incidents on this pass.

``run_failed`` is not judged here: Airflow owns it (failure callback after the last retry,
resolved by the next successful run), so a brownout opens one incident, not two.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from partnerapi_ops.alerts import Alert
from partnerapi_ops.config import OpsConfig
from partnerapi_ops.metrics import OpsSnapshot

ANOMALY_BASELINE_RUNS = 20


@dataclass(frozen=True)
class Evaluation:
    alerts: list[Alert]
    kinds: set[str]


def _quarantine(snap: OpsSnapshot) -> list[Alert]:
    out = []
    for (env, stream), series in sorted(snap.runs.items()):
        last = series[-1]
        n = int(last.quarantined or 0)
        if n > 0:
            out.append(
                Alert(
                    f"quarantine:{env}:{stream}",
                    "quarantine",
                    f"{env}/{stream}: latest run {last.run_id} quarantined {n} records "
                    f"(a documented field missing or renamed)",
                    {"environment": env, "stream": stream, "run_id": last.run_id, "records": n},
                )
            )
    return out


def _data_tests(snap: OpsSnapshot) -> list[Alert]:
    assert snap.dbt is not None
    out = []
    for stream, tests in sorted(snap.dbt.failed.items()):
        names = ", ".join(t.split(".")[2] if t.count(".") >= 2 else t for t in tests[:5])
        more = f" and {len(tests) - 5} more" if len(tests) > 5 else ""
        out.append(
            Alert(
                f"data_test_failed:{stream}",
                "data_test_failed",
                f"{len(tests)} dbt test(s) failing on {stream}: {names}{more}",
                {"stream": stream, "tests": tests},
            )
        )
    return out


def _anomalies(snap: OpsSnapshot, cfg: OpsConfig) -> list[Alert]:
    out = []
    for (env, stream), series in sorted(snap.runs.items()):
        # Only successful incremental runs are comparable with each other (backfill and sweep
        # runs read other windows; a failed run's volume says nothing).
        # A later sweep/backfill/failed run leaves the verdict of the last incremental run
        # standing (neither reopens nor resolves the incident).
        runs = [s for s in series if s.ok and s.is_incremental]
        if len(runs) <= cfg.anomaly_min_history:
            continue
        latest = int(runs[-1].versions_new or 0)
        base = [int(s.versions_new or 0) for s in runs[-1 - ANOMALY_BASELINE_RUNS : -1]]
        median = statistics.median(base)
        why = ""
        if latest == 0 and median >= cfg.anomaly_min_records:
            why = f"no new versions, while the median of the last {len(base)} runs is {median:g}"
        elif latest >= max(cfg.anomaly_min_records, cfg.anomaly_spike_factor * median):
            why = f"{latest} new versions, over {cfg.anomaly_spike_factor:g}x the median {median:g}"
        if why:
            out.append(
                Alert(
                    f"anomaly:{env}:{stream}",
                    "anomaly",
                    f"{env}/{stream}: {why}",
                    {"environment": env, "stream": stream, "latest": latest, "median": median},
                )
            )
    return out


def _freshness(snap: OpsSnapshot, cfg: OpsConfig) -> list[Alert]:
    slo = cfg.freshness_slo_minutes * 60
    stale: dict[str, dict[str, float]] = {}
    for env, stream in snap.streams():
        age = snap.staleness_seconds((env, stream))
        if age is not None and age > slo:
            stale.setdefault(env, {})[stream] = round(age / 60, 1)
    # One incident per environment: a brownout stales every stream at once, and eight pages
    # for one cause is how on-call learns to ignore alerts.
    return [
        Alert(
            f"freshness:{env}",
            "freshness",
            f"{env}: data older than the {cfg.freshness_slo_minutes:g} min SLO on "
            + ", ".join(f"{s} ({m} min)" for s, m in sorted(streams.items())),
            {
                "environment": env,
                "stale_minutes": streams,
                "slo_minutes": cfg.freshness_slo_minutes,
            },
        )
        for env, streams in sorted(stale.items())
    ]


def _coverage(snap: OpsSnapshot) -> list[Alert]:
    assert snap.warehouse is not None
    out = []
    for (env, stream), gaps in sorted(snap.warehouse.coverage_gaps.items()):
        if gaps:
            gap_from, gap_to = snap.warehouse.first_gap[(env, stream)]
            out.append(
                Alert(
                    f"coverage_gap:{env}:{stream}",
                    "coverage_gap",
                    f"{env}/{stream}: {gaps} gap(s) in the coverage ledger, first from "
                    f"{gap_from} to {gap_to}: records updated then may be missing",
                    {
                        "environment": env,
                        "stream": stream,
                        "gaps": gaps,
                        "first_gap": [gap_from, gap_to],
                    },
                )
            )
    return out


_HOLD_MEANING = {
    "mass_delete_held_back": "it newly misses more ids than the guard allows "
    "(max_delete_share and mass_delete_min_ids): a truncated listing looks so",
    "listing_count_mismatch": "the warehouse holds fewer/more of its ids than the tap counted",
    "incomplete_snapshot": "its listing never reached the last page",
}


def _held_back_deletes(held: dict[tuple[str, str], dict]) -> list[Alert]:
    out = []
    for (env, resource), row in sorted(held.items()):
        ids = list(row.get("ids") or [])
        n = int(row.get("ids_newly_missing") or 0)
        shown = ", ".join(ids) + (f" and {n - len(ids)} more" if n > len(ids) else "")
        out.append(
            Alert(
                f"deletes_held_back:{env}:{resource}",
                "deletes_held_back",
                f"{env}/{resource}: the newest id snapshot was not applied "
                f"({row['guard_status']}: {_HOLD_MEANING.get(row['guard_status'], '?')}); "
                f"{row.get('ids_listed')} ids listed, tap counted {row.get('id_count')}, "
                f"previous listing {row.get('previous_id_count')}, "
                f"{n} of {row.get('known_ids')} known ids newly missing"
                + (f"; check: {shown}" if ids else ""),
                {
                    "environment": env,
                    "resource": resource,
                    **{k: v for k, v in row.items() if k != "ids"},
                    "ids": ids,
                },
            )
        )
    return out


def evaluate(snap: OpsSnapshot, cfg: OpsConfig) -> Evaluation:
    alerts: list[Alert] = []
    kinds: set[str] = set()
    if snap.runs:
        alerts += _quarantine(snap) + _anomalies(snap, cfg)
        kinds |= {"quarantine", "anomaly"}
    if snap.dbt is not None:
        alerts += _data_tests(snap)
        kinds.add("data_test_failed")
    if snap.warehouse is not None:
        alerts += _freshness(snap, cfg) + _coverage(snap)
        kinds |= {"freshness", "coverage_gap"}
        if snap.warehouse.held_back_deletes is not None:
            alerts += _held_back_deletes(snap.warehouse.held_back_deletes)
            kinds.add("deletes_held_back")
    return Evaluation(alerts, kinds)
