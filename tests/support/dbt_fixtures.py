"""Build raw tables for the dbt tests through the real loader.

Synthetic vendor objects are wrapped as the tap wraps them (raw row v2, design.md "Tap output":
keys, updated_at, lineage and the object in `_pa_raw`; schemas from tap_partnerapi.schema,
which derives them from the contract), with the tap's schema_drift rows for undocumented
top-level fields, written as Singer SCHEMA/RECORD/STATE messages and piped into
`meltano invoke target-duckdb-bulk`, so the raw column types are the loader's own. dbt runs
through `meltano invoke dbt-duckdb`.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from tap_partnerapi.contract import RESOURCES
from tap_partnerapi.drift import json_type
from tap_partnerapi.schema import (
    AUDIT_KEYS,
    AUDIT_SCHEMAS,
    ID_FIELDS,
    WEBHOOK_KEYS,
    WEBHOOK_SCHEMA,
    resource_schema,
)
from tests.support.meltano_fixtures import own_sys_dir

ROOT = Path(__file__).resolve().parents[2]
MELTANO = ROOT / ".venv" / "bin" / "meltano"

STREAMS: tuple[str, ...] = tuple(RESOURCES)  # the vendor's resources, contract order


def schema_of(stream: str) -> tuple[dict[str, dict], list[str]]:
    """(properties, key_properties) of a stream exactly as the tap declares it: raw row v2
    for the resources, the audit and webhook schemas for the rest."""
    if stream in RESOURCES:
        return (resource_schema(stream)["properties"],
                ["environment", ID_FIELDS[stream], "_pa_version"])
    if stream == "webhook_notifications":
        return WEBHOOK_SCHEMA["properties"], WEBHOOK_KEYS
    return AUDIT_SCHEMAS[stream]["properties"], AUDIT_KEYS[stream]


def ts(moment: datetime) -> str:
    """The tap's timestamp format: 6 fractional digits, always `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def version_hash(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class Batch:
    """Singer messages for one simulated tap run."""

    run_id: str
    environment: str = "sandbox"
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: int = 0
    drift: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def add(self, stream: str, payload: dict[str, Any], extracted_at: datetime) -> dict:
        """The tap's raw row for a vendor object, and its schema_drift row(s) when the object
        carries top-level fields the contract does not document (one row per field and run,
        rewritten with the JSON types seen so far, as tap_partnerapi.tap.report_drift)."""
        self.requests += 1
        id_field = ID_FIELDS[stream]
        request_id = f"req_{self.run_id}_{self.requests}"
        record = {
            "environment": self.environment, id_field: payload.get(id_field),
            "_pa_version": version_hash(payload), "updated_at": payload.get("updated_at"),
            "_pa_request_id": request_id, "_pa_raw": payload,
        }
        self.records.setdefault(stream, []).append(record)
        # The record's page: its ledger row holds the run id and reception time (raw row
        # v2); it covers no interval, so coverage checks only see the explicit pages.
        self.audit("coverage_ledger", {
            "stream": stream, "run_id": self.run_id, "request_id": request_id,
            "window_start": None, "window_end": None, "page_number": self.requests,
            "cursor": None, "next_cursor": None, "records": 1,
            "first_updated_at": payload.get("updated_at"),
            "last_updated_at": payload.get("updated_at"), "covered_from": None,
            "covered_to": None, "is_last_page": False, "completed_at": ts(extracted_at)})
        documented = {f.name for f in RESOURCES[stream].fields}
        for name in sorted(payload.keys() - documented):
            key = (stream, name)
            row = self.drift.get(key)
            if row is None:
                row = self.drift[key] = {
                    "environment": self.environment, "stream": stream, "field_path": name,
                    "first_seen_at": ts(extracted_at), "run_id": self.run_id,
                    "example_record_id": payload.get(id_field), "json_types": ""}
                self.records.setdefault("schema_drift", []).append(row)
            types = set(filter(None, row["json_types"].split(","))) | {json_type(payload[name])}
            row["json_types"] = ",".join(sorted(types))
        return record

    def webhook(self, resource: str, action: str, payload: dict[str, Any],
                received_at: datetime, created_at: datetime | None = None,
                notification_id: str | None = None, conforms: bool | None = True,
                issue: str | None = None) -> dict:
        """One `webhook_notifications` row as the tap's stream writes it for a landed
        notification (tap_partnerapi/webhooks.py): `_pa_raw` = data.object."""
        self.requests += 1
        nid = notification_id or f"whk_{self.run_id}_{self.requests}"
        created = ts(created_at) if created_at else None
        body = json.dumps({"id": nid, "type": f"{resource}.{action}", "created_at": created,
                           "data": {"object": payload}}, separators=(",", ":"))
        received = ts(received_at)
        row = {
            "environment": self.environment, "notification_id": nid,
            "type": f"{resource}.{action}", "resource": resource, "action": action,
            "object_id": payload.get(ID_FIELDS.get(resource, "id")),
            "created_at": created, "received_at": received,
            "signature_timestamp": int(received_at.timestamp()),
            "landing_key": f"environment={self.environment}/{received}-{nid}.json",
            "body_sha256": hashlib.sha256(body.encode()).hexdigest(), "raw_body": body,
            "document_version": 1, "object_conforms": conforms, "object_issue": issue,
            "_pa_raw": payload, "_pa_version": version_hash(payload),
            "_pa_run_id": self.run_id, "_pa_extracted_at": received,
            "_pa_request_id": f"webhook:{nid}",
        }
        self.records.setdefault("webhook_notifications", []).append(row)
        return row

    def audit(self, stream: str, row: dict[str, Any]) -> None:
        self.records.setdefault(stream, []).append({"environment": self.environment, **row})

    def messages(self) -> Iterable[str]:
        for stream, rows in self.records.items():
            props, keys = schema_of(stream)
            schema = {"type": "object", "properties": props}
            yield json.dumps({"type": "SCHEMA", "stream": stream, "schema": schema,
                              "key_properties": keys})
            for row in rows:
                yield json.dumps({"type": "RECORD", "stream": stream, "record": row})
        yield json.dumps({"type": "STATE", "value": {"bookmarks": {"run": self.run_id}}})


@functools.cache
def _private_meltano_dir() -> Path:
    """One `.meltano` per test process (pytest-xdist workers run dbt at the same time, and
    Meltano rewrites `.meltano/run/<plugin>/` on every invocation)."""
    root = Path(tempfile.mkdtemp(prefix="dbt-fixtures-meltano-"))
    atexit.register(shutil.rmtree, root, True)
    return own_sys_dir(root)


def meltano_env(db_path: Path, *, shared_sys_dir: bool = False, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "MELTANO_"))}
    env.update(MELTANO_SEND_ANONYMOUS_USAGE_STATS="false", DBT_SEND_ANONYMOUS_USAGE_STATS="false",
               PARTNERAPI_DUCKDB_PATH=str(db_path),
               **extra)
    if not shared_sys_dir:
        sys_dir = _private_meltano_dir()
        env.update(MELTANO_SYS_DIR_ROOT=str(sys_dir),
                   MELTANO_DATABASE_URI=f"sqlite:///{sys_dir / 'meltano.db'}")
    return env


def load(db_path: Path, *batches: Batch) -> None:
    """Pipe the batches through the real target-duckdb-bulk into `db_path`."""
    stdin = "\n".join(line for batch in batches for line in batch.messages()) + "\n"
    for _attempt in range(3):
        proc = subprocess.run([str(MELTANO), "invoke", "target-duckdb-bulk"], input=stdin,
                              text=True, capture_output=True, cwd=ROOT,
                              env=meltano_env(db_path), check=False)
        # Meltano rewrites .meltano/run/target-duckdb-bulk/*logging.conf on every invocation, so
        # a concurrent invocation (another test run) can catch it empty. Nothing was loaded.
        if "is an empty file" not in proc.stderr:
            break
    assert proc.returncode == 0, proc.stderr[-4000:]


@dataclass
class DbtResult:
    returncode: int
    output: str
    results: dict[str, dict[str, Any]]  # unique_id -> run result

    def status(self, name_part: str) -> list[str]:
        return [r["status"] for uid, r in self.results.items() if name_part in uid]


def dbt(db_path: Path, *args: str, utility: str = "dbt-duckdb",
        extra_env: dict[str, str] | None = None, timeout: float = 300) -> DbtResult:
    """`meltano invoke <utility> <args>` with artifacts in a directory next to the file.

    Keep every warehouse file named `warehouse.duckdb` (one per directory): DuckDB names
    the catalog after the file and dbt's views reference it, so copies must keep the name.
    """
    target_dir = db_path.parent / "dbt_target"
    for artifact in ("run_results.json", "sources.json"):
        (target_dir / artifact).unlink(missing_ok=True)
    env = meltano_env(db_path, DBT_TARGET_PATH=str(target_dir),
                      DBT_LOG_PATH=str(target_dir / "logs"), **(extra_env or {}))
    # Own process group: on a hang (an emulator that stops answering) kill dbt too, not
    # only the meltano wrapper, so nothing outlives the test.
    proc = subprocess.Popen([str(MELTANO), "invoke", utility, *args], text=True, cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        err += f"\nkilled after {timeout} s"
    results: dict[str, dict[str, Any]] = {}
    for artifact in ("run_results.json", "sources.json"):  # sources.json: freshness
        if (target_dir / artifact).exists():
            for r in json.loads((target_dir / artifact).read_text())["results"]:
                results[r["unique_id"]] = r
    return DbtResult(proc.returncode, out + err, results)


def query(db_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.sql(sql).fetchall()


def execute(db_path: Path, sql: str) -> None:
    with duckdb.connect(str(db_path)) as con:
        con.execute(sql)


def now_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)



# --- synthetic vendor payloads ------------------------------------------------------------

def customer(cid: str, when: datetime, **over: Any) -> dict[str, Any]:
    return {"id": cid, "email": f"{cid}@example.com", "name": f"Name {cid}",
            "phone": "+15550100", "address": {"line1": "1 Main St", "city": "Springfield",
                                              "postal_code": "12345", "country": "US"},
            "currency": "usd", "balance": 0, "tax_exempt": "none", "metadata": {},
            "created_at": ts(when), "updated_at": ts(when), **over}


def plan(pid: str, when: datetime, **over: Any) -> dict[str, Any]:
    return {"id": pid, "product_name": "Pro", "nickname": None, "amount": 1000, "currency": "usd",
            "interval": "month", "interval_count": 1, "active": True, "trial_period_days": None,
            "created_at": ts(when), "updated_at": ts(when), **over}


def subscription(sid: str, cid: str, pid: str, when: datetime, **over: Any) -> dict[str, Any]:
    return {"id": sid, "customer_id": cid, "plan_id": pid, "status": "active", "quantity": 1,
            "current_period_start": ts(when), "current_period_end": ts(when + timedelta(30)),
            "cancel_at_period_end": False, "canceled_at": None, "trial_end": None,
            "items": [{"plan_id": pid, "quantity": 1}], "discount": None, "metadata": {},
            "created_at": ts(when), "updated_at": ts(when), **over}


def invoice(iid: str, cid: str, sid: str, when: datetime, **over: Any) -> dict[str, Any]:
    return {"id": iid, "customer_id": cid, "subscription_id": sid, "number": f"N-{iid}",
            "status": "open", "currency": "usd", "subtotal": 1000, "tax": 100, "total": 1100,
            "amount_due": 1100, "amount_paid": 0, "period_start": ts(when),
            "period_end": ts(when + timedelta(30)), "due_date": None, "paid_at": None,
            "created_at": ts(when), "updated_at": ts(when), **over}


def invoice_item(item_id: str, iid: str, when: datetime, **over: Any) -> dict[str, Any]:
    return {"id": item_id, "invoice_id": iid, "subscription_id": None, "plan_id": None,
            "description": "Pro plan", "quantity": 1, "unit_amount": 1000, "amount": 1000,
            "currency": "usd", "period": {"start": ts(when), "end": ts(when)},
            "proration": False, "created_at": ts(when), "updated_at": ts(when), **over}


def payment(pay_id: str, iid: str, cid: str, txn: str, when: datetime, **over: Any) -> dict:
    return {"id": pay_id, "invoice_id": iid, "customer_id": cid, "transaction_id": txn,
            "amount": 1100, "currency": "usd", "status": "succeeded",
            "method": {"type": "card", "card_brand": "visa", "last4": "4242"},
            "failure_code": None, "amount_refunded": 0, "captured_at": ts(when),
            "created_at": ts(when), "updated_at": ts(when), **over}


def refund(rid: str, pay_id: str, txn: str, when: datetime, **over: Any) -> dict[str, Any]:
    return {"id": rid, "payment_id": pay_id, "transaction_id": txn, "amount": 100,
            "currency": "usd", "reason": None, "status": "succeeded",
            "created_at": ts(when), "updated_at": ts(when), **over}


def event(eid: str, txn: str, etype: str, version: int, when: datetime,
          payload: dict[str, Any] | None = None, updated: datetime | None = None) -> dict:
    return {"event_id": eid, "transaction_id": txn, "event_type": etype,
            "event_version": version, "occurred_at": ts(when), "created_at": ts(when),
            "updated_at": ts(updated or when),
            "payload": payload or {"amount": 1100, "currency": "usd"}}


DAYS = 30
DELETABLE = ("customers", "plans", "invoice_items")


def baseline(now: datetime) -> list[Batch]:
    """30 days of one tap run per day (sandbox) plus colliding production ids."""
    today = now.replace(hour=0)
    batches: list[Batch] = []
    for d in range(DAYS - 1, -1, -1):
        day = today - timedelta(days=d)
        b = Batch(run_id=f"run_d{d:02d}")
        extracted = now if d == 0 else day + timedelta(hours=23, minutes=30)
        b.add("plans", plan(f"plan_{d % 3}", day, amount=1000 + d), extracted)
        for j in range(1 if d == 0 else 3 + d % 3):  # new customers, invoices, ... that day
            t = day + timedelta(seconds=60 * j)
            cid, sid, iid, txn = f"cus_{d}_{j}", f"sub_{d}_{j}", f"in_{d}_{j}", f"txn_{d}_{j}"
            b.add("customers", customer(cid, t), extracted)
            b.add("subscriptions", subscription(sid, cid, f"plan_{j % 3}", t), extracted)
            b.add("invoices", invoice(iid, cid, sid, t), extracted)
            b.add("invoices", invoice(iid, cid, sid, t, status="paid", amount_paid=1100,
                                      paid_at=ts(t + timedelta(seconds=5)),
                                      updated_at=ts(t + timedelta(seconds=5))), extracted)
            b.add("invoice_items", invoice_item(f"ii_{d}_{j}", iid, t), extracted)
            b.add("payments", payment(f"pay_{d}_{j}", iid, cid, txn, t), extracted)
            b.add("events", event(f"evt_{d}_{j}_a", txn, "AUTHORIZED", 1, t), extracted)
            b.add("events", event(f"evt_{d}_{j}_c", txn, "CAPTURED", 1, t), extracted)
        b.add("refunds", refund(f"re_{d}", f"pay_{d}_0", f"txn_{d}_0", day), extracted)
        for stream in STREAMS:
            end = None if d == 0 else day + timedelta(days=1)
            mid = day + timedelta(minutes=30)
            for page, (lo, hi) in enumerate(((day, mid), (mid, end or now)), start=1):
                b.audit("coverage_ledger", {
                    "stream": stream, "run_id": b.run_id, "window_start": ts(day),
                    "window_end": end and ts(end), "page_number": page,
                    "cursor": None if page == 1 else "c1", "next_cursor": "c1" if page == 1
                    else None, "records": 1, "first_updated_at": ts(lo),
                    "last_updated_at": ts(hi), "covered_from": ts(lo), "covered_to": ts(hi),
                    "request_id": f"req_{b.run_id}_{stream}_{page}", "is_last_page": page == 2,
                    "completed_at": ts(extracted)})
        batches.append(b)
    prod = Batch(run_id="run_prod", environment="production")
    for j in range(2):
        prod.add("customers", customer(f"cus_29_{j}", today - timedelta(days=29),
                                       email=f"prod{j}@example.com"), now)
    batches.append(prod)
    batches.append(snapshot_batch(batches, now - timedelta(minutes=30), "snap_base"))
    return batches


def live_ids(batches: Iterable[Batch], resource: str, environment: str = "sandbox") -> list:
    return sorted({r["id"] for b in batches if b.environment == environment
                   for r in b.records.get(resource, [])})


def snapshot_batch(batches: list[Batch], started: datetime, snapshot_id: str,
                   drop: dict[str, list[str]] | None = None, complete: bool = True,
                   resources: tuple[str, ...] = DELETABLE) -> Batch:
    """An id-set snapshot listing every known id except `drop[resource]`."""
    b = Batch(run_id=f"run_{snapshot_id}")
    for resource in resources:
        ids = [i for i in live_ids(batches, resource) if i not in (drop or {}).get(resource, [])]
        for i in ids:
            b.audit("id_snapshots", {"resource": resource, "snapshot_id": snapshot_id, "id": i,
                                     "updated_at": ts(started), "run_id": b.run_id,
                                     "extracted_at": ts(started)})
        if complete:
            b.audit("id_snapshot_runs", {
                "resource": resource, "snapshot_id": snapshot_id, "run_id": b.run_id,
                "started_at": ts(started), "completed_at": ts(started + timedelta(minutes=5)),
                "id_count": len(ids), "status": "complete"})
    return b


def empty_audit_tables() -> Batch:
    """SCHEMA messages only, so quarantine/schema_drift exist as the tap would leave them."""
    b = Batch(run_id="run_schemas")
    for stream in ("quarantine", "schema_drift"):
        b.records[stream] = []
    return b


def build_baseline(db_path: Path, now: datetime) -> list[Batch]:
    batches = [*baseline(now), empty_audit_tables()]
    load(db_path, *batches)
    return batches


@dataclass
class Warehouse:
    path: Path
    batches: list[Batch]
    now: datetime


_BASE: list[Warehouse] = []


def ensure_installed(*plugins: tuple[str, str]) -> None:
    """Install Meltano plugins on a fresh machine (a no-op once installed)."""
    for kind, name in plugins or (("loader", "target-duckdb-bulk"), ("utility", "dbt-duckdb")):
        if not (ROOT / ".meltano" / f"{kind}s" / name / "venv").exists():
            subprocess.run([str(MELTANO), "install", kind, name], cwd=ROOT, check=True,
                           env=meltano_env(ROOT / "unused.duckdb", shared_sys_dir=True),
                           capture_output=True)


def base_warehouse(tmp_root: Path) -> Warehouse:
    """The baseline loaded and built once per test session; scenarios work on copies."""
    if not _BASE:
        ensure_installed()
        directory = tmp_root / "dbt_base"
        directory.mkdir(parents=True, exist_ok=True)
        path, now = directory / "warehouse.duckdb", now_hour()
        batches = build_baseline(path, now)
        result = dbt(path, "build")
        assert result.returncode == 0, result.output[-5000:]
        _BASE.append(Warehouse(path, batches, now))
    return _BASE[0]


def copy_warehouse(base: Warehouse, directory: Path) -> Warehouse:
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(base.path, directory / "warehouse.duckdb")
    parse_cache = base.path.parent / "dbt_target" / "partial_parse.msgpack"
    if parse_cache.exists():
        (directory / "dbt_target").mkdir(exist_ok=True)
        shutil.copy(parse_cache, directory / "dbt_target" / "partial_parse.msgpack")
    return Warehouse(directory / "warehouse.duckdb", list(base.batches), base.now)
