"""Settlement files: the vendor's daily payout drops (CONTRACT "Batch exports"), faults included.

A :class:`SettlementExports` is built from the payments the sandbox serves at a moment
(``as_of``): every captured payment of the last ``days`` days is paid out the day after its
capture, in one payout per (settled_date, currency). The scenario is deterministic for a seed
and holds, on demand, each fault of the contract's section:

- ``late``: two recent payouts are only written in phase 2 (up to 72 h after settled_date);
- ``redelivery``: one drop is written twice in phase 1 and once more in phase 2, same bytes;
- ``correction``: one payout gets seq 2 in phase 2, where a line vanishes, one changes and
  one appears;
- ``in_progress``: one drop's part files are written in phase 1, its manifest in phase 2;
- ``disagreeing``: one drop's first part file is truncated (its manifest describes the whole
  file); phase 2 repairs it with a new seq.

Reconciliation faults are always present (they are the point of the files): some charge
lines carry a gross that differs from the payment, some are for transactions the API does not
know, some captured payments are never settled. :meth:`truth` is what a correct reader ends
with and :meth:`expected_reconciliation` the counts a correct reconciliation finds.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

FORMATS = ("csv", "json", "ndjson", "parquet")
FAULTS = ("late", "redelivery", "correction", "in_progress", "disagreeing")
FIELDS = ("line_id", "payout_id", "transaction_id", "payment_id", "type", "gross", "fee", "net",
          "currency", "settled_at", "description")
PHASES = ("initial", "final", "all")
#: Payment statuses whose money was captured (so a charge line is due).
CAPTURED = ("succeeded", "refunded", "partially_refunded", "disputed")
CATEGORIES = ("matched", "amount_mismatch", "unknown_payment", "not_settled",
              "awaiting_settlement")


@dataclass
class Drop:
    payout_id: str
    seq: int
    settled_date: date
    currency: str
    lines: list[dict[str, Any]]
    created_at: str

    @property
    def manifest_id(self) -> str:
        return "stm_" + hashlib.sha256(f"{self.payout_id}:{self.seq}".encode()).hexdigest()[:20]

    def folder(self, environment: str) -> str:
        return (f"{environment}/settlements/dt={self.settled_date.isoformat()}/"
                f"{self.payout_id}/{self.seq:06d}")


@dataclass
class Plan:
    """Which drop is written in which phase, and how."""

    initial: list[tuple[Drop, str]] = field(default_factory=list)  # (drop, mode)
    final: list[tuple[Drop, str]] = field(default_factory=list)


class SettlementExports:
    def __init__(self, payments: list[dict[str, Any]], *, environment: str, as_of: datetime,
                 seed: int = 7, days: int = 10, faults: tuple[str, ...] | list[str] = FAULTS,
                 rows_per_file: int = 4, grace_days: int = 3) -> None:
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown settlement fault(s) {sorted(unknown)}; choose from "
                             f"{list(FAULTS)}")
        if days < 1 or rows_per_file < 1:
            raise ValueError("days and rows_per_file must be >= 1")
        self.environment, self.seed, self.faults = environment, seed, tuple(faults)
        self.as_of = as_of.astimezone(UTC)
        self.days, self.rows_per_file, self.grace_days = days, rows_per_file, grace_days
        self.expected_from = datetime.combine(self.as_of.date() - timedelta(days=days),
                                              datetime.min.time(), UTC)
        self.payments = {p["transaction_id"]: p for p in payments}
        self.rng = random.Random(f"settlements:{seed}:{environment}")
        self.drops = self._payout_drops()
        self.plan = self._plan()

    # -- the scenario -------------------------------------------------------------------------
    def _payout_drops(self) -> dict[str, list[Drop]]:
        rng, last_date = self.rng, self.as_of.date() - timedelta(days=1)
        groups: dict[tuple[date, str], list[dict[str, Any]]] = {}
        for txn in sorted(self.payments):
            pay = self.payments[txn]
            if pay["status"] not in CAPTURED or not pay.get("captured_at") \
                    or pay["created_at"] < _fmt(self.expected_from):
                continue
            settled = _parse(pay["captured_at"]).date() + timedelta(days=1)
            if settled > last_date or rng.random() < 0.05:  # not yet, or never settled
                continue
            groups.setdefault((settled, pay["currency"]), []).append(pay)
        drops: dict[str, list[Drop]] = {}
        for (settled, currency), pays in sorted(groups.items()):
            payout = f"po_{self.environment[:3]}{self.seed}_{settled:%Y%m%d}_{currency}"
            lines: list[dict[str, Any]] = []
            for pay in pays:
                lines.extend(self._lines_of(pay, rng))
            if rng.random() < 0.3:  # a transaction the API does not know
                lines.append(_charge(f"txn_unknown_{payout[3:]}", None, 4200, currency))
            lines.append({"transaction_id": f"txn_adj_{payout[3:]}", "payment_id": None,
                          "type": "fee_adjustment", "gross": 0, "fee": 150,
                          "currency": currency,
                          "description": 'Monthly "platform" fee, incl. VAT\n(see invoice)'})
            created = datetime.combine(settled, datetime.min.time(), UTC) + timedelta(hours=6)
            drops[payout] = [Drop(payout, 1, settled, currency, _number(lines, payout, settled),
                                  _fmt(created))]
        return drops

    def _lines_of(self, pay: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
        gross = pay["amount"]
        if rng.random() < 0.06:  # the processor settled a different amount
            gross += rng.choice((-100, -1, 1, 250))
        lines = [_charge(pay["transaction_id"], pay["id"], gross, pay["currency"])]
        if pay["status"] in ("refunded", "partially_refunded") and pay["amount_refunded"]:
            lines.append({"transaction_id": pay["transaction_id"], "payment_id": pay["id"],
                          "type": "refund", "gross": -pay["amount_refunded"], "fee": 0,
                          "currency": pay["currency"], "description": None})
        if pay["status"] == "disputed":
            lines.append({"transaction_id": pay["transaction_id"], "payment_id": pay["id"],
                          "type": "chargeback", "gross": -pay["amount"], "fee": 1500,
                          "currency": pay["currency"], "description": "Rückbuchung (chargeback)"})
        return lines

    def _plan(self) -> Plan:
        plan = Plan()
        payouts = sorted(self.drops)
        chosen: dict[str, str] = {}
        if not payouts:
            self.fault_payouts = chosen
            return plan
        # Phase 2 stands for "later, within the 72 h a drop may lag its settled_date": every
        # fault lands on a payout of the last four settled dates. One payout of the newest
        # date stays on time, so the reader has seen that date before the late ones come.
        newest = max(d[0].settled_date for d in self.drops.values())
        recent = [p for p in payouts
                  if self.drops[p][0].settled_date >= newest - timedelta(days=3)]
        anchor = next(p for p in reversed(recent) if self.drops[p][0].settled_date == newest)
        pool = [p for p in recent if p != anchor]
        self.rng.shuffle(pool)
        pool.sort(key=lambda p: self.drops[p][0].settled_date)  # oldest first, stable
        if "late" in self.faults:
            for p in pool[:2]:
                chosen[p] = "late"
        for fault in ("disagreeing", "correction", "in_progress", "redelivery"):
            free = [p for p in pool if p not in chosen]
            if fault not in self.faults or not free:
                continue
            if fault == "disagreeing":  # the most lines: several part files
                free.sort(key=lambda p: -len(self.drops[p][0].lines))
            chosen[free[0]] = fault
        self.fault_payouts = chosen
        for payout in payouts:
            first = self.drops[payout][0]
            fault = chosen.get(payout)
            if fault == "late":
                plan.final.append((first, "complete"))
            elif fault == "redelivery":
                plan.initial += [(first, "complete"), (first, "complete")]
                plan.final.append((first, "complete"))
            elif fault == "in_progress":
                plan.initial.append((first, "parts_only"))
                plan.final.append((first, "manifest_only"))
            elif fault == "disagreeing":
                plan.initial.append((first, "truncated"))
                plan.final.append((self._next_seq(first, first.lines), "complete"))
            elif fault == "correction":
                plan.initial.append((first, "complete"))
                plan.final.append((self._next_seq(first, self._corrected(first)), "complete"))
            else:
                plan.initial.append((first, "complete"))
        return plan

    def _corrected(self, drop: Drop) -> list[dict[str, Any]]:
        """Seq 2 of a corrected payout: the first line vanishes, the second's fee changes,
        a late-found charge (a new line id) appears."""
        lines = [dict(line) for line in drop.lines[1:]]
        if lines:
            lines[0]["fee"] += 7
            lines[0]["net"] = lines[0]["gross"] - lines[0]["fee"]
        extra = _charge(f"txn_late_{drop.payout_id[3:]}", None, 1999, drop.currency)
        extra.update(line_id=f"stl_{drop.payout_id[3:]}_c0001", payout_id=drop.payout_id,
                     net=extra["gross"] - extra["fee"],
                     settled_at=lines[0]["settled_at"] if lines else drop.lines[0]["settled_at"])
        return [*lines, extra]

    def _next_seq(self, drop: Drop, lines: list[dict[str, Any]]) -> Drop:
        created = _fmt(_parse(drop.created_at) + timedelta(hours=5))
        new = Drop(drop.payout_id, drop.seq + 1, drop.settled_date, drop.currency, lines,
                   created)
        self.drops[drop.payout_id].append(new)
        return new

    # -- what a correct reader ends with ------------------------------------------------------
    def final_drops(self) -> list[Drop]:
        """The drop that defines each payout: its highest seq."""
        return [drops[-1] for _, drops in sorted(self.drops.items())]

    def truth(self) -> list[dict[str, Any]]:
        return [{"environment": self.environment, "seq": d.seq, **line}
                for d in self.final_drops() for line in d.lines]

    def expected_reconciliation(self) -> dict[str, int]:
        settled: dict[str, list[dict[str, Any]]] = {}
        for line in self.truth():
            if line["type"] == "charge":
                settled.setdefault(line["transaction_id"], []).append(line)
        counts = dict.fromkeys(CATEGORIES, 0)
        for txn, lines in settled.items():
            pay = self.payments.get(txn)
            if pay is None:
                counts["unknown_payment"] += 1
            elif sum(x["gross"] for x in lines) == pay["amount"] and \
                    all(x["currency"] == pay["currency"] for x in lines):
                counts["matched"] += 1
            else:
                counts["amount_mismatch"] += 1
        overdue = _fmt(self.as_of - timedelta(days=self.grace_days))
        for txn, pay in self.payments.items():
            if txn in settled or pay["status"] != "succeeded" \
                    or pay["created_at"] < _fmt(self.expected_from):
                continue
            counts["not_settled" if pay["created_at"] < overdue else "awaiting_settlement"] += 1
        return counts

    def describe(self) -> dict[str, Any]:
        return {"environment": self.environment, "as_of": _fmt(self.as_of),
                "expected_from": _fmt(self.expected_from), "grace_days": self.grace_days,
                "payouts": len(self.drops), "lines": len(self.truth()),
                "fault_payouts": self.fault_payouts,
                "expected_reconciliation": self.expected_reconciliation()}

    # -- writing ------------------------------------------------------------------------------
    def write(self, location: str, fmt: str, phase: str = "all") -> list[str]:
        """Write the phase's objects under ``location`` (folder or s3://bucket/prefix); the
        manifest of a drop always after its part files. Returns the keys written."""
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {list(FORMATS)} (got {fmt!r})")
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {list(PHASES)} (got {phase!r})")
        sink = open_sink(location)
        steps = {"initial": self.plan.initial, "final": self.plan.final,
                 "all": self.plan.initial + self.plan.final}[phase]
        written: list[str] = []
        for drop, mode in steps:
            written += self._write_drop(sink, drop, fmt, mode)
        return written

    def _write_drop(self, sink: Any, drop: Drop, fmt: str, mode: str) -> list[str]:
        base = drop.folder(self.environment)
        chunks = [drop.lines[i:i + self.rows_per_file]
                  for i in range(0, len(drop.lines), self.rows_per_file)] or [[]]
        files, written = [], []
        for n, rows in enumerate(chunks):
            key = f"{base}/part-{n:05d}.{fmt}"
            data = encode(rows, fmt)
            files.append({"key": key, "rows": len(rows), "bytes": len(data),
                          "sha256": hashlib.sha256(data).hexdigest()})
            if mode == "truncated" and n == 0:
                data = data[: max(1, len(data) * 3 // 5)]
            if mode != "manifest_only":
                sink.put(key, data)
                written.append(key)
        if mode != "parts_only":
            manifest = {"manifest_id": drop.manifest_id, "payout_id": drop.payout_id,
                        "seq": drop.seq, "environment": self.environment, "format": fmt,
                        "created_at": drop.created_at,
                        "settled_date": drop.settled_date.isoformat(),
                        "currency": drop.currency, "line_count": len(drop.lines),
                        "files": [{**f, "key": sink.full_key(f["key"])} for f in files]}
            key = f"{base}/manifest.json"
            sink.put(key, json.dumps(manifest, indent=2).encode())
            written.append(key)
        return written


# -- encoding ------------------------------------------------------------------------------
def encode(rows: list[dict[str, Any]], fmt: str) -> bytes:
    rows = [{k: row[k] for k in FIELDS} for row in rows]
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False).encode()
    if fmt == "ndjson":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
        writer.writerow(FIELDS)
        for r in rows:
            writer.writerow(["" if r[k] is None else r[k] for k in FIELDS])
        return out.getvalue().encode("utf-8")
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"gross": pa.int64(), "fee": pa.int64(), "net": pa.int64()}
    schema = pa.schema([(k, types.get(k, pa.string())) for k in FIELDS])
    table = pa.Table.from_pylist(rows, schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


class FolderSink:
    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def full_key(self, key: str) -> str:
        return key

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)


class S3Sink:
    """Credentials and endpoint from the standard AWS chain (``AWS_ENDPOINT_URL`` for moto)."""

    def __init__(self, uri: str) -> None:
        import boto3

        self.bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client("s3")

    def full_key(self, key: str) -> str:
        return self.prefix + key

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data)


def open_sink(location: str) -> FolderSink | S3Sink:
    return S3Sink(location) if location.startswith("s3://") else FolderSink(location)


# -- helpers -------------------------------------------------------------------------------
def _charge(txn: str, payment_id: str | None, gross: int, currency: str) -> dict[str, Any]:
    return {"transaction_id": txn, "payment_id": payment_id, "type": "charge", "gross": gross,
            "fee": round(abs(gross) * 0.029) + 30, "currency": currency,
            "description": None if payment_id else "Card charge (no API payment)"}


def _number(lines: list[dict[str, Any]], payout: str, settled: date) -> list[dict[str, Any]]:
    start = datetime.combine(settled, datetime.min.time(), UTC) + timedelta(hours=2)
    return [{"line_id": f"stl_{payout[3:]}_{n:05d}", "payout_id": payout, **line,
             "net": line["gross"] - line["fee"],
             "settled_at": _fmt(start + timedelta(seconds=n, microseconds=n))}
            for n, line in enumerate(lines, start=1)]


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
