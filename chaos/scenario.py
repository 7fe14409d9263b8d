"""The chaos scenarios: the real pipeline, many times, against a hostile sandbox.

Convergence: ``cycles`` times (advance the vendor's clock; `meltano run incremental`; `meltano
run reconcile`), with heavy faults, 8 s tokens, page-sized listings, deterministic 2 h- and
48 h-late records on top of the sandbox's own lags, creates/updates/hard deletes, additive
schema changes from the first cycle and three more top-level fields of other types (integer,
timestamp, number) one cycle later, one incremental run SIGKILLed mid-sync and run
again, and a backfill of an already-loaded window (killed once, resumed later) interleaved
with the incremental runs (the embedded DuckDB has a single writer, so two jobs cannot load at
the same instant; the orchestrator serialises them the same way). A sweep runs after the
first load, every ``sweep_every`` cycles ("daily") and on the last cycle, so that the final
sweep re-reads only its 48 h overlap. Then the data is frozen, the clock moves past the 48 h
lag, one last incremental, sweep and reconciliation run, and everything is compared.

Rename (then, on the converged warehouse): the vendor renames ``invoices.amount_due``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb

from chaos.compare import Findings, compare_warehouse
from chaos.pipeline import ROOT, Pipeline, RunResult
from partnerapi_sandbox.process import SandboxProcess

RESOURCES = ("customers", "plans", "subscriptions", "invoices", "invoice_items", "payments",
             "refunds", "events")
DELETABLE = ("customers", "plans", "invoice_items")
STALE_RUN_SECONDS = 6 * 60


@dataclasses.dataclass
class ChaosConfig:
    cycles: int = 3
    seed: int = 7
    advance_hours: float = 1.5  # < the 2 h lag: late records land behind a later bookmark
    sweep_every: int = 8
    kill_cycle: int = 1  # this cycle's incremental run is SIGKILLed mid-sync, then re-run
    backfill_cycle: int = 2  # the backfill starts here (killed), resumes the cycle after
    additive_from_cycle: int = 1
    # One cycle after the additive drift, more top-level fields of other types appear
    # (issue 16: "a second new top-level field of another type that appears one run later").
    new_fields_cycle: int = 2
    new_fields: tuple[tuple[str, str, str], ...] = (
        ("customers", "loyalty_points", "integer"), ("invoices", "finalized_at", "timestamp"),
        ("payments", "risk_score", "number"))
    faults: str = "heavy"
    token_lifetime_seconds: int = 8  # tap runs outlive it: renewed mid-run
    page_size: int = 500
    # None: the project's own overlap settings (incremental 2 h, sweep 48 h). A number
    # overrides every tap plugin, e.g. 0 to show the late-data assertion catch it.
    overlap_hours: float | None = None
    workdir: Path = Path("output/chaos")


@dataclasses.dataclass
class ChaosReport:
    config: ChaosConfig
    findings: Findings
    runs: list[RunResult]
    faults: dict[str, int]
    sandbox_counters: dict[str, Any]
    retries: Counter[str]
    summaries: list[dict[str, Any]]
    tolerated_failures: list[str]
    unexpected_failures: list[str]
    late_touched: list[dict[str, str]]
    rename: RenameReport | None
    seconds: float


def chaos_sandbox(cfg: ChaosConfig) -> SandboxProcess:
    return SandboxProcess(cfg.workdir / "sandbox.log", seed=cfg.seed, scale="small",
                          faults=cfg.faults, token_lifetime_seconds=cfg.token_lifetime_seconds,
                          # Short stalls: a `timeout` fault still drops the connection unanswered.
                          hang_seconds=3, max_retry_after_seconds=2)


def tap_settings(cfg: ChaosConfig) -> dict[str, str]:
    # Only integer/string settings: Meltano 4.4 crashes on any `kind: decimal` setting given
    # as an env var (request_timeout, overlap_hours, backoff_*), see patched_project.
    return {"page_size": str(cfg.page_size)}


class Chaos:
    """One sandbox process and one isolated pipeline; the steps of the scenarios."""

    def __init__(self, cfg: ChaosConfig, sandbox: SandboxProcess) -> None:
        self.cfg = cfg
        self.sb = sandbox
        self.tolerated: list[str] = []
        self.unexpected: list[str] = []
        self.late: list[dict[str, str]] = []
        self.killed_jobs: dict[str, float] = {}
        root = None if cfg.overlap_hours is None else \
            patched_project(cfg.workdir / "project", cfg.overlap_hours)
        self.pipe = Pipeline(cfg.workdir, sandbox.url, tap_settings(cfg), project_root=root)

    def log(self, text: str) -> None:
        print(f"[chaos {time.strftime('%H:%M:%S')}] {text}", flush=True)

    # -- runs ----------------------------------------------------------------------------

    def job(self, job: str, run_id: str, *, kill_after_pages: int | None = None,
            extra_env: dict[str, str] | None = None, may_fail: str | None = None) -> RunResult:
        kill_when = None
        if kill_after_pages is not None:
            start_pages = self.sb.counters()["pages"]

            def kill_when(_elapsed: float) -> bool:
                return self.sb.counters()["pages"] - start_pages >= kill_after_pages

        # Meltano keeps a SIGKILLed run "running" until its heartbeat is 5 min stale and
        # refuses that pipeline meanwhile, even after a later --force run succeeded.
        force = time.monotonic() - self.killed_jobs.get(job, -1e9) < STALE_RUN_SECONDS
        result = self.pipe.run(job, run_id, extra_env=extra_env, kill_when=kill_when,
                               force=force)
        if result.killed:
            self.killed_jobs[job] = time.monotonic()
        outcome = "SIGKILLed" if result.killed else f"exit {result.returncode}"
        self.log(f"{job:<12} {run_id:<28} {outcome:<10} {result.seconds:6.1f} s")
        if result.killed or result.returncode == 0:
            return result
        text = result.log.read_text(errors="replace")
        if may_fail and may_fail in text:
            self.tolerated.append(f"{run_id}: {may_fail}")
        else:
            self.unexpected.append(f"{run_id} exit {result.returncode}:\n{result.tail(25)}")
        return result

    def incremental(self, run_id: str, **kw: Any) -> RunResult:
        return self.job("incremental", run_id, **kw)

    def reconcile(self, run_id: str) -> RunResult:
        return self.job("reconcile", run_id)

    def backfill(self, run_id: str, start: str, end: str, **kw: Any) -> RunResult:
        env = {"TAP_PARTNERAPI__BACKFILL_START_DATE": start,
               "TAP_PARTNERAPI__BACKFILL_END_DATE": end}
        return self.job("backfill", run_id, extra_env=env, **kw)

    # -- the vendor's world --------------------------------------------------------------

    def touch_late(self, resource: str, lag_seconds: float) -> None:
        self.late.append({"resource": resource, **self.sb.touch(resource, lag_seconds)})

    def truth(self) -> tuple[list[dict[str, dict[str, dict[str, Any]]]], dict[str, set[str]]]:
        """The vendor's records as served now and as they were served before each step of
        drift (the added fields, then the additive mode): drift adds fields to every record
        without moving ``updated_at``, so a record last read before a step holds, rightly,
        the earlier payload."""
        config = self.sb.admin("GET", "/_sandbox/config")
        extra = config.get("extra_fields") or {}

        def without_extra(truth: dict[str, dict[str, dict[str, Any]]]) -> dict:
            return {r: {i: {k: v for k, v in rec.items() if k not in extra.get(r, {})}
                        for i, rec in records.items()} for r, records in truth.items()}

        truths = [{r: self.sb.truth(r) for r in RESOURCES}]
        if extra:
            truths.append(without_extra(truths[0]))
        if config["schema_mode"] == "additive":
            self.sb.set_schema("none")
            truths.append(without_extra({r: self.sb.truth(r) for r in RESOURCES}))
            self.sb.set_schema("additive")
        deleted = {r: self.sb.deleted(r) for r in DELETABLE}
        return truths, deleted


def patched_project(path: Path, overlap_hours: float) -> Path:
    """The project with every tap plugin's ``overlap_hours`` replaced - the way to remove
    the safeguard, since Meltano 4.4 cannot take a ``kind: decimal`` setting from an env
    var (it fails dumping a Decimal to JSON). Everything else is the project's own."""
    path.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "meltano.yml").read_text()
    patched, n = re.subn(r"(?m)^(\s+overlap_hours:) [0-9.]+$", rf"\1 {overlap_hours}", text)
    if n < 2:
        raise RuntimeError("meltano.yml: expected overlap_hours for the tap and the sweep")
    (path / "meltano.yml").write_text(patched)
    link = path / "transform"
    if not link.exists():
        link.symlink_to(ROOT / "transform", target_is_directory=True)
    return path


def _ts(value: str, hours: float) -> str:
    moved = dt.datetime.fromisoformat(value.replace("Z", "+00:00")) + dt.timedelta(hours=hours)
    return moved.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_convergence(cfg: ChaosConfig, *, then_rename: bool = True) -> ChaosReport:
    started = time.monotonic()
    with chaos_sandbox(cfg) as sb:
        c = Chaos(cfg, sb)
        c.log(f"sandbox {sb.url}, workdir {cfg.workdir}, {cfg.cycles} cycles")
        c.incremental("c00-incremental")
        c.reconcile("c00-reconcile")
        # The sweep keeps its own bookmark: it must have one before late data piles up, or
        # its first run reads everything and hides whether the overlaps work.
        c.job("sweep", "c00-sweep")
        backfill_window: tuple[str, str] | None = None
        for cycle in range(1, cfg.cycles + 1):
            tag = f"c{cycle:02d}"
            if cycle == cfg.additive_from_cycle:
                sb.set_schema("additive")
            if cycle == cfg.new_fields_cycle:
                for resource, name, kind in cfg.new_fields:
                    sb.add_field(resource, name, kind)
            now = sb.advance(cfg.advance_hours)["now"]
            # Deterministic late arrivals on top of the sandbox's own lags: just under the
            # documented 2 h (the incremental overlap's job) and 48 h (the sweep's job).
            c.touch_late(RESOURCES[cycle % len(RESOURCES)], 1.9 * 3600)
            if cycle in (1, cfg.cycles // 2 + 1):
                c.touch_late(RESOURCES[(cycle + 3) % len(RESOURCES)], 47 * 3600)
            if cycle == cfg.kill_cycle:
                killed = c.incremental(f"{tag}-incremental-killed", kill_after_pages=4)
                if not killed.killed:
                    c.unexpected.append(f"{tag}: the run ended before it could be killed")
            c.incremental(f"{tag}-incremental")
            if cycle == cfg.backfill_cycle:
                # Three days that the incremental runs already loaded, one partition a day.
                backfill_window = (_ts(now, -72), _ts(now, -1))
                c.backfill(f"{tag}-backfill-killed", *backfill_window, kill_after_pages=6)
            elif backfill_window and cycle == cfg.backfill_cycle + 1:
                c.backfill(f"{tag}-backfill", *backfill_window)
            if cycle % cfg.sweep_every == 0 or cycle == cfg.cycles:
                c.job("sweep", f"{tag}-sweep")
            c.reconcile(f"{tag}-reconcile")
        if backfill_window and cfg.cycles == cfg.backfill_cycle:
            c.backfill("final-backfill", *backfill_window)
        # Freeze the data, let every pending version surface (lags are at most 48 h). The
        # `moved_record` fault writes a real update while a listing is read; it stops too,
        # or the last run's reads would change the truth after the last run. Every
        # transport fault stays on.
        sb.configure(activity=0)
        rates = sb.admin("GET", "/_sandbox/config")["fault_rates"]
        sb.admin("POST", "/_sandbox/faults", {"rates": {**rates, "moved_record": 0.0}})
        sb.advance(49)
        c.incremental("final-incremental")
        c.job("sweep", "final-sweep")
        c.reconcile("final-reconcile")
        truths, deleted = c.truth()
        pending = {r: sb.pending(r) for r in RESOURCES}
        findings = compare_warehouse(str(c.pipe.warehouse), truths, deleted)
        for resource, versions in pending.items():
            if versions:
                findings.bad("pending_after_48h", f"{resource}: {len(versions)} ids")
        rename = run_rename(c) if then_rename else None
        counters = sb.counters()
    summaries = c.pipe.summaries()
    retries: Counter[str] = Counter()
    for line in summaries:
        retries.update({k: v for k, v in (line.get("retries") or {}).items() if v})
    return ChaosReport(
        config=cfg, findings=findings, runs=c.pipe.runs, faults=counters["faults"],
        sandbox_counters=counters, retries=retries, summaries=summaries,
        tolerated_failures=c.tolerated, unexpected_failures=c.unexpected,
        late_touched=c.late, rename=rename, seconds=time.monotonic() - started)


@dataclasses.dataclass
class RenameReport:
    run: RunResult
    quarantined_ids: set[str]
    renamed_invoices: int
    null_amount_due: dict[str, int]
    summary_statuses: dict[str, str]
    log_mentions_quarantine: bool

    @property
    def ok(self) -> bool:
        return (self.run.returncode != 0 and bool(self.quarantined_ids)
                and not any(self.null_amount_due.values())
                and self.summary_statuses.get("invoices") == "quarantined"
                and self.log_mentions_quarantine)

    def describe(self) -> str:
        return (f"rename scenario: run exit {self.run.returncode}, "
                f"{len(self.quarantined_ids)} invoices quarantined ({self.renamed_invoices} "
                f"renamed at the vendor), amount_due null in typed tables: "
                f"{self.null_amount_due}, invoices stream status "
                f"{self.summary_statuses.get('invoices')} -> {'OK' if self.ok else 'FAILED'}")


def run_rename(c: Chaos) -> RenameReport:
    """The vendor renames invoices.amount_due -> amount_due_minor; one more incremental run
    must quarantine the renamed records, load no null in their place, and fail loudly."""
    sb = c.sb
    sb.set_schema("rename")
    sb.configure(activity=1)
    sb.advance(c.cfg.advance_hours)
    run = c.job("incremental", "rename-incremental", may_fail="quarantined")
    renamed = sum(1 for r in sb.truth("invoices").values() if "amount_due_minor" in r)
    with duckdb.connect(str(c.pipe.warehouse), read_only=True) as con:
        quarantined = {r[0] for r in con.execute(
            "select record_id from raw.quarantine where stream = 'invoices' "
            "and list_contains(cast(missing_fields as varchar[]), 'amount_due')").fetchall()}
        # Raw holds the vendor's object: a version without amount_due must not be there.
        nulls = {"raw.invoices": con.execute(
            "select count(*) from raw.invoices "
            "where json_extract(cast(_pa_raw as json), '$.amount_due') is null").fetchone()[0]}
        nulls |= {
            table: con.execute(f"select count(*) from {table} where amount_due is null")
            .fetchone()[0]
            for table in ("staging.stg_invoices_versions",
                          "staging.stg_invoices", "analytics.invoices",
                          "analytics.invoices_history")
        }
    statuses = {s["stream"]: s["status"] for s in c.pipe.summaries()
                if s.get("run_id") == "rename-incremental"}
    return RenameReport(
        run=run, quarantined_ids=quarantined, renamed_invoices=renamed, null_amount_due=nulls,
        summary_statuses=statuses,
        log_mentions_quarantine="quarantined" in run.log.read_text(errors="replace"))
