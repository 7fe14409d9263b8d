"""Prometheus exposition per stream, from run summaries, dbt results and the warehouse.

Counters (``*_total``) are sums over the summary file, which the tap only appends to, so they
only grow (a rotated file is a counter reset, which Prometheus handles). Gauges describe the
latest run of each stream. Written as a node_exporter textfile (atomic rename) and pushed to a
Pushgateway when one is configured.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, push_to_gateway
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from partnerapi_ops.config import OpsConfig
from partnerapi_ops.sources import (
    DbtResults,
    RunSummary,
    WarehouseSnapshot,
    read_dbt_results,
    read_summaries,
    read_warehouse,
)
from tap_partnerapi.summary import RETRY_CAUSES

log = logging.getLogger(__name__)
P = "partnerapi_"
LABELS = ["environment", "stream"]


@dataclass
class OpsSnapshot:
    now: float
    runs: dict[tuple[str, str], list[RunSummary]]
    dbt: DbtResults | None
    warehouse: WarehouseSnapshot | None

    @classmethod
    def load(cls, cfg: OpsConfig, now: float | None = None) -> OpsSnapshot:
        return cls(
            now=time.time() if now is None else now,
            runs=read_summaries(cfg.summary_path),
            dbt=read_dbt_results(cfg.run_results_path, cfg.manifest_path),
            warehouse=read_warehouse(cfg.warehouse_path),
        )

    def streams(self) -> list[tuple[str, str]]:
        keys = set(self.runs)
        if self.warehouse:
            keys |= set(self.warehouse.newest_updated_at)
        return sorted(keys)

    def last(self, key: tuple[str, str]) -> RunSummary | None:
        series = self.runs.get(key)
        return series[-1] if series else None

    def last_success_epoch(self, key: tuple[str, str]) -> float | None:
        for s in reversed(self.runs.get(key, [])):
            if s.ok:
                return s.finished_epoch
        return None

    def freshness_seconds(self, key: tuple[str, str]) -> float | None:
        if not self.warehouse or key not in self.warehouse.newest_updated_at:
            return None
        return max(0.0, self.now - self.warehouse.newest_updated_at[key])

    def coverage_lag_seconds(self, key: tuple[str, str]) -> float | None:
        if not self.warehouse or key not in self.warehouse.covered_to:
            return None
        return max(0.0, self.now - self.warehouse.covered_to[key])

    def staleness_seconds(self, key: tuple[str, str]) -> float | None:
        """What the freshness SLO judges: a quiet stream (plans change rarely) is not stale
        when the coverage ledger shows it was read up to recently."""
        values = [
            v
            for v in (self.freshness_seconds(key), self.coverage_lag_seconds(key))
            if v is not None
        ]
        return min(values) if values else None


class _SnapshotCollector(Collector):
    def __init__(self, snap: OpsSnapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[Metric]:
        snap = self.snap

        def counter(name: str, doc: str, extra: list[str] | None = None) -> CounterMetricFamily:
            return CounterMetricFamily(P + name, doc, labels=LABELS + (extra or []))

        def gauge(name: str, doc: str, extra: list[str] | None = None) -> GaugeMetricFamily:
            return GaugeMetricFamily(P + name, doc, labels=LABELS + (extra or []))

        records = counter("records", "Records emitted by the tap, all runs")
        versions_new = counter("versions_new", "New record versions loaded, all runs")
        requests = counter("requests", "HTTP requests to the vendor (pages + retries), all runs")
        retries = counter("retries", "Retried requests by cause, all runs", ["cause"])
        http_429 = counter("http_429", "429 responses from the vendor, all runs")
        waited = counter("rate_limit_wait_seconds", "Seconds waited on the rate limit, all runs")
        quarantined = counter("quarantined_records", "Records quarantined by the tap, all runs")
        runs = counter("runs", "Tap runs per stream by status", ["status"])
        last_records = gauge("last_run_records", "Records in the latest run")
        last_requests = gauge("last_run_requests", "Requests in the latest run")
        last_retries = gauge("last_run_retries", "Retries in the latest run by cause", ["cause"])
        last_429 = gauge("last_run_http_429", "429 responses in the latest run")
        last_wait = gauge("last_run_rate_limit_wait_seconds", "Rate-limit wait, latest run")
        last_quar = gauge("last_run_quarantined_records", "Records quarantined, latest run")
        last_failed = gauge("last_run_failed", "1 if the latest run of the stream failed")
        last_dur = gauge("last_run_duration_seconds", "Duration of the latest run")
        last_run = gauge("last_run_timestamp_seconds", "When the latest run finished")
        last_ok = gauge("last_success_timestamp_seconds", "When the latest successful run ended")
        fresh = gauge("freshness_seconds", "Now minus the newest updated_at loaded")
        cov_lag = gauge("coverage_lag_seconds", "Now minus the newest covered_to in the ledger")
        newest = gauge("newest_updated_at_seconds", "Newest updated_at loaded (epoch seconds)")
        gaps = gauge("coverage_gaps", "Gaps in the coverage ledger's covered ranges")
        q_rows = gauge("quarantine_rows", "Rows in raw.quarantine")
        tests_failed = GaugeMetricFamily(
            P + "dbt_tests_failed", "Failing dbt data tests (latest dbt run)", labels=["stream"]
        )

        for key in self.snap.streams():
            lv = list(key)
            series = snap.runs.get(key, [])
            if series:
                records.add_metric(lv, sum(int(s.records or 0) for s in series))
                versions_new.add_metric(lv, sum(int(s.versions_new or 0) for s in series))
                requests.add_metric(lv, sum(s.requests for s in series))
                for cause in sorted(set(RETRY_CAUSES).union(*(s.retries for s in series))):
                    retries.add_metric([*lv, cause], sum(s.retries.get(cause, 0) for s in series))
                http_429.add_metric(lv, sum(int(s.http_429 or 0) for s in series))
                waited.add_metric(lv, sum(float(s.rate_limit_wait_seconds or 0) for s in series))
                quarantined.add_metric(lv, sum(int(s.quarantined or 0) for s in series))
                for status in ("ok", "quarantined", "failed"):
                    runs.add_metric([*lv, status], sum(1 for s in series if s.status == status))
                s = series[-1]
                last_records.add_metric(lv, int(s.records or 0))
                last_requests.add_metric(lv, s.requests)
                for cause in sorted(set(RETRY_CAUSES) | set(s.retries)):
                    last_retries.add_metric([*lv, cause], s.retries.get(cause, 0))
                last_429.add_metric(lv, int(s.http_429 or 0))
                last_wait.add_metric(lv, float(s.rate_limit_wait_seconds or 0))
                last_quar.add_metric(lv, int(s.quarantined or 0))
                last_failed.add_metric(lv, 0 if s.ok else 1)
                last_dur.add_metric(lv, float(s.duration_seconds or 0))
                if s.finished_epoch is not None:
                    last_run.add_metric(lv, s.finished_epoch)
                ok_at = snap.last_success_epoch(key)
                if ok_at is not None:
                    last_ok.add_metric(lv, ok_at)
            age = snap.freshness_seconds(key)
            if age is not None and snap.warehouse:
                fresh.add_metric(lv, age)
                newest.add_metric(lv, snap.warehouse.newest_updated_at[key])
            lag = snap.coverage_lag_seconds(key)
            if lag is not None:
                cov_lag.add_metric(lv, lag)
        if snap.warehouse:
            for key, n in sorted(snap.warehouse.coverage_gaps.items()):
                gaps.add_metric(list(key), n)
            for key, n in sorted(snap.warehouse.quarantine_rows.items()):
                q_rows.add_metric(list(key), n)
        if snap.dbt:
            streams = {k[1] for k in snap.streams()} | set(snap.dbt.failed)
            for stream in sorted(streams):
                tests_failed.add_metric([stream], len(snap.dbt.failed.get(stream, [])))
            yield GaugeMetricFamily(
                P + "dbt_tests", "dbt data tests in the latest dbt run", value=snap.dbt.tests_total
            )
            if snap.dbt.generated_epoch is not None:
                yield GaugeMetricFamily(
                    P + "dbt_last_run_timestamp_seconds",
                    "When dbt wrote run_results.json",
                    value=snap.dbt.generated_epoch,
                )
        yield from (records, versions_new, requests, retries, http_429, waited, quarantined, runs)
        yield from (last_records, last_requests, last_retries, last_429, last_wait, last_quar)
        yield from (last_failed, last_dur, last_run, last_ok, fresh, cov_lag, newest, gaps, q_rows)
        yield tests_failed
        yield GaugeMetricFamily(
            P + "ops_snapshot_timestamp_seconds", "When these metrics were computed", value=snap.now
        )
        yield GaugeMetricFamily(
            P + "warehouse_readable",
            "1 if the warehouse could be read (0: absent or locked; freshness/coverage stale)",
            value=1 if snap.warehouse else 0,
        )


def registry_for(snap: OpsSnapshot) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snap))
    return registry


def render(snap: OpsSnapshot) -> str:
    return generate_latest(registry_for(snap)).decode()


def publish(snap: OpsSnapshot, cfg: OpsConfig) -> str:
    """Write the textfile (atomically: node_exporter must never read half a file) and push."""
    text = render(snap)
    path: Path = cfg.textfile_path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    if cfg.pushgateway_url:
        try:
            push_to_gateway(
                cfg.pushgateway_url,
                job=cfg.pushgateway_job,
                registry=registry_for(snap),
                grouping_key={"environment": cfg.environment} if cfg.environment else {},
            )
        except OSError as exc:
            # The textfile is written; a Pushgateway outage must not fail the health check.
            log.warning("push to %s failed: %s", cfg.pushgateway_url, exc)
    return text
