"""The simulated vendor's data: initial build and the bookkeeping later changes need.

One `random.Random` seeded from (seed, environment) drives everything, so the same seed,
scale, environment and start time always give the same records.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from partnerapi_sandbox import records as rec
from partnerapi_sandbox.store import RESOURCES, Store, Version, dumps, id_field, loads
from partnerapi_sandbox.timeutil import DAY, HOUR, US, fmt_us, parse_ts


@dataclass(frozen=True)
class Scale:
    plans: int
    customers: int
    subscriptions: int
    invoices: int
    payments: int
    history_days: int = 180


SCALES = {
    "small": Scale(plans=12, customers=300, subscriptions=320, invoices=900, payments=1100),
    "medium": Scale(plans=24, customers=4000, subscriptions=4500, invoices=12000, payments=15000),
    "large": Scale(plans=40, customers=40000, subscriptions=45000, invoices=120000,
                   payments=420000),
}
CURRENCIES = ("usd", "eur", "gbp")
CUSTOMER_CURRENCY = {"usd": "usd", "eur": "eur", "gbp": "gbp"}


def visibility_lag(rng: random.Random) -> int:
    """Contract: visible usually within seconds, up to 2 h as a matter of course, rarely 48 h."""
    r = rng.random()
    if r < 0.85:
        return int(rng.uniform(0.05, 30) * US)
    if r < 0.99:
        return int(rng.uniform(30, 2 * 3600) * US)
    return int(rng.uniform(2 * 3600, 48 * 3600) * US)


class World:
    def __init__(self, seed: int, environment: str, scale: str, start_us: int) -> None:
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; choose from {sorted(SCALES)}")
        self.seed = seed
        self.environment = environment
        self.scale = SCALES[scale]
        self.start_us = start_us
        self.now_us = start_us  # moved forward by evolve.py
        self.rng = random.Random(f"{seed}:{environment}:world")
        self.store = Store()
        self._n = dict.fromkeys((*RESOURCES, "transactions"), 0)
        self.invoice_seq = 0
        # Bookkeeping for realistic changes: only unreferenced customers/plans and lines of
        # draft invoices get hard-deleted, so truth never holds dangling references.
        self.referenced_customers: set[str] = set()
        self.referenced_plans: set[str] = set()
        self.draft_items: dict[str, list[str]] = {}
        self.event_versions: dict[tuple[str, str], int] = {}
        self.disputes: dict[str, str] = {}  # transaction_id -> DISPUTE_UPDATED event id
        self.plans_by_currency: dict[str, list[dict[str, Any]]] = {c: [] for c in CURRENCIES}
        self.listeners: list[Callable[[str, str, dict[str, Any], int], None]] = []

    def emit(self, resource: str, kind: str, record: dict[str, Any], at_us: int) -> None:
        for listener in self.listeners:
            listener(resource, kind, record, at_us)

    # -- helpers used by the initial build and by evolve.py ---------------------------------
    def new_id(self, resource: str) -> str:
        n = self._n[resource]
        self._n[resource] = n + 1
        return rec.make_id(resource, self.seed, n, self.environment)

    def put(self, resource: str, record: dict[str, Any], updated: int, lag: int | None = None,
            prior_created: int | None = None) -> None:
        """Write a version; `prior_created` adds the record's first version too when the
        newest one is still invisible at the start (the listing then shows the old one)."""
        visible = updated + (visibility_lag(self.rng) if lag is None else lag)
        rid = record[id_field(resource)]
        table = self.store.tables[resource]
        if prior_created is not None and visible > self.start_us and prior_created < updated:
            first = dict(record, updated_at=record["created_at"])
            table.write(Version(rid, first["updated_at"], prior_created + 1_000_000, dumps(first)))
        table.write(Version(rid, record["updated_at"], visible, dumps(record)))
        self.emit(resource, "created", record, updated)

    def update(self, resource: str, record: dict[str, Any], at_us: int,
               lag: int | None = None) -> Version:
        """Write a new version of an existing record, stamped no earlier than its previous one
        (the simulated clock may be frozen while records still change)."""
        rid = record[id_field(resource)]
        prev = self.store.tables[resource].latest.get(rid)
        stamp = at_us if prev is None else max(at_us, parse_ts(prev.updated_at) + 1)
        record["updated_at"] = fmt_us(stamp)
        visible = stamp + (visibility_lag(self.rng) if lag is None else lag)
        v = Version(rid, record["updated_at"], visible, dumps(record))
        self.store.tables[resource].write(v)
        self.emit(resource, "updated", record, stamp)
        return v

    def delete(self, resource: str, rid: str, at_us: int, lag: int | None = None) -> None:
        table = self.store.tables[resource]
        last = table.latest.get(rid)
        if last is None:
            return
        record = loads(last.body)
        visible = at_us + (visibility_lag(self.rng) if lag is None else lag)
        table.write(Version(rid, last.updated_at, visible, b"", True))
        self.emit(resource, "deleted", record, at_us)

    def record(self, resource: str, rid: str) -> dict[str, Any] | None:
        v = self.store.tables[resource].latest.get(rid)
        return None if v is None else loads(v.body)

    def next_event_version(self, txn: str, event_type: str) -> int:
        # Monotonic per (transaction, type) but skipping numbers now and then, as documented.
        step = 2 if self.rng.random() < 0.15 else 1
        v = self.event_versions.get((txn, event_type), 0) + step
        self.event_versions[(txn, event_type)] = v
        return v

    def _between(self, lo: int, hi: int, skew: float = 1.0) -> int:
        return lo + int((hi - lo) * self.rng.random() ** skew) if hi > lo else lo

    # -- initial build -----------------------------------------------------------------------
    def build(self) -> Store:
        # Millions of fresh containers make the cyclic GC rescan the growing store over and
        # over (quadratic); nothing here forms cycles, so collect once at the end instead.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._build()
        finally:
            if enabled:
                gc.enable()

    def _build(self) -> Store:
        s, rng, now = self.scale, self.rng, self.start_us
        for table in self.store.tables.values():
            table.begin_bulk()
        origin = now - s.history_days * DAY
        plans = []
        for i in range(s.plans):
            cur = CURRENCIES[i % len(CURRENCIES)]
            created = self._between(origin, origin + 30 * DAY)
            updated = self._between(created, now, 3)
            p = rec.plan(rng, self.new_id("plans"), i, cur, created, updated)
            plans.append(p)
            self.plans_by_currency[cur].append(p)
            self.put("plans", p, updated, prior_created=created)
        customers = []
        for _ in range(s.customers):
            created = self._between(origin, now - HOUR)
            updated = self._between(created, now, 2)
            c = rec.customer(rng, self.new_id("customers"), created, updated)
            customers.append((c, created))
            self.put("customers", c, updated, prior_created=created)
        payers = customers[: max(1, int(len(customers) * 0.85))]
        subs = []
        for _ in range(s.subscriptions):
            c, c_created = rng.choice(payers)
            p = rng.choice(self.plans_by_currency[c["currency"]] or plans)
            created = self._between(c_created, now, 1.5)
            updated = self._between(created, now, 2)
            sub = rec.subscription(rng, self.new_id("subscriptions"), c["id"], p, created, updated)
            subs.append((sub, p, created))
            self.referenced_customers.add(c["id"])
            self.referenced_plans.add(p["id"])
            self.put("subscriptions", sub, updated, prior_created=created)
        invoices = [self._initial_invoice(subs, payers, now) for _ in range(s.invoices)]
        self._initial_payments(invoices, payers, now)
        for table in self.store.tables.values():
            table.end_bulk(now)
        return self.store

    def _initial_invoice(self, subs: list, payers: list, now: int) -> tuple[dict, int]:
        rng = self.rng
        if rng.random() < 0.85:
            sub, p, s_created = rng.choice(subs)
            cid, sid, currency = sub["customer_id"], sub["id"], p["currency"]
        else:
            c, s_created = rng.choice(payers)
            cid, sid, currency, p = c["id"], None, c["currency"], None
        created = self._between(s_created, now, 0.7)
        age = now - created
        weights = (2, 7, 85, 4, 2) if age > 30 * DAY else (25, 35, 38, 1, 1)
        status = rec.weighted(rng, ("draft", "open", "paid", "void", "uncollectible"), weights)
        updated = self._between(created, min(now, created + 20 * DAY), 2)
        inv = self.invoice_with_items(cid, sid, currency, p, status, created, updated, True)
        return inv, updated

    def invoice_with_items(self, cid: str, sid: str | None, currency: str, p: dict | None,
                           status: str, created: int, updated: int, initial: bool) -> dict:
        rng = self.rng
        self.invoice_seq += 1
        iid = self.new_id("invoices")
        number = f"{iid[3:11].upper()}-{self.invoice_seq:05d}"
        head = rec.invoice(rng, iid, number, cid, sid, currency, 0, status, created, updated)
        items = [rec.invoice_item(rng, self.new_id("invoice_items"), head, p, created, created)]
        for _ in range(rng.choice([0, 0, 1, 2])):
            items.append(rec.invoice_item(rng, self.new_id("invoice_items"), head, None,
                                          created, created))
        subtotal = sum(i["amount"] for i in items)
        inv = rec.invoice(rng, iid, number, cid, sid, currency, subtotal, status, created, updated)
        self.referenced_customers.add(cid)
        prior = created if initial else None
        for item in items:
            self.put("invoice_items", item, created, prior_created=prior)
        if status == "draft":
            self.draft_items[iid] = [i["id"] for i in items]
        self.put("invoices", inv, updated, prior_created=prior)
        return inv

    def _initial_payments(self, invoices: list, payers: list, now: int) -> None:
        rng = self.rng
        count = 0
        for inv, inv_updated in invoices:
            if inv["status"] == "paid":
                if rng.random() < 0.1:
                    self.payment_with_events(inv, "failed", inv_updated - HOUR, True)
                    count += 1
                status = rec.weighted(rng, ("succeeded", "refunded", "partially_refunded",
                                        "disputed"), (88, 6, 4, 2))
                self.payment_with_events(inv, status, inv_updated, True)
                count += 1
            elif inv["status"] in ("open", "uncollectible") and rng.random() < 0.2:
                self.payment_with_events(inv, "failed", inv_updated, True)
                count += 1
        origin = now - self.scale.history_days * DAY
        while count < self.scale.payments:
            c, c_created = rng.choice(payers)
            one_off = {"id": None, "customer_id": c["id"], "currency": c["currency"],
                       "total": rng.choice([500, 1999, 4900, 12000, rng.randint(100, 90000)])}
            status = rec.weighted(rng, ("succeeded", "pending", "failed", "refunded",
                                  "partially_refunded", "disputed"), (80, 3, 8, 5, 2, 2))
            self.payment_with_events(one_off, status, self._between(max(origin, c_created), now),
                                     True)
            count += 1

    def payment_with_events(self, inv: dict, status: str, at: int, initial: bool) -> dict:
        rng = self.rng
        created = at - rng.randint(1, 120) * US
        pay = rec.payment(rng, self.new_id("payments"), self.new_id("transactions"),
                          inv["id"], inv["customer_id"], inv["total"], inv["currency"], status,
                          created, at)
        self.referenced_customers.add(inv["customer_id"])
        self.put("payments", pay, at, prior_created=created if initial else None)
        t = created
        for _ in range(1 + (rng.random() < 0.35) + (rng.random() < 0.15)):
            t = self.add_event(pay, "AUTHORIZED", t)
        if status == "failed":
            self.add_event(pay, "VOIDED", t + rng.randint(1, 30) * US)
            return pay
        if status == "pending":
            return pay
        t = self.add_event(pay, "CAPTURED", t + rng.randint(1, 90) * US)
        if status in ("refunded", "partially_refunded"):
            r_at = min(self.now_us, t + rng.randint(1, 72) * HOUR)
            r = rec.refund(rng, self.new_id("refunds"), pay, r_at, r_at)
            self.put("refunds", r, r_at)
            self.add_event(pay, "REFUNDED", r_at)
        if status == "disputed":
            t = self.add_event(pay, "CHARGEBACK_OPENED", t + rng.randint(1, 240) * HOUR)
            for _ in range(rng.randint(1, 4)):
                t = self.add_event(pay, "DISPUTE_UPDATED", t + rng.randint(1, 48) * HOUR)
            if rng.random() < 0.6:
                self.add_event(pay, rng.choice(["CHARGEBACK_WON", "CHARGEBACK_LOST"]),
                               t + rng.randint(1, 96) * HOUR)
        return pay

    def add_event(self, pay: dict, event_type: str, occurred: int) -> int:
        rng = self.rng
        # Nothing is written in the simulated future: later lifecycle steps are clamped to now.
        created = min(occurred + rng.randint(0, 2000) * 1000, self.now_us)
        occurred = min(occurred, created)
        dispute = None
        if event_type.startswith(("CHARGEBACK", "DISPUTE")):
            dispute = {"id": "dp_" + pay["transaction_id"][4:14],
                       "status": {"CHARGEBACK_WON": "won", "CHARGEBACK_LOST": "lost"}.get(
                           event_type, "needs_response"),
                       "reason": rec.DISPUTE_REASONS[int(pay["id"][-2:], 16) % 4],
                       "amount": pay["amount"]}
        eid = self.new_id("events")
        ev = rec.event(rng, eid, pay, event_type,
                       self.next_event_version(pay["transaction_id"], event_type),
                       occurred, created, created, dispute)
        if event_type == "DISPUTE_UPDATED":
            self.disputes[pay["transaction_id"]] = eid
        self.put("events", ev, created)
        return occurred
