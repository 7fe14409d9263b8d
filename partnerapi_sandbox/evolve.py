"""What happens while the simulated clock moves: creates, updates, hard deletes.

Rates are per simulated hour as a share of each table, so every scale stays lively; every
change gets its own visibility lag (world.visibility_lag). Hard deletes only hit records
nothing references (customers, plans) or lines of draft invoices, as the contract says.
"""

from __future__ import annotations

from typing import Any

from partnerapi_sandbox import records as rec
from partnerapi_sandbox.timeutil import HOUR, US, fmt_us
from partnerapi_sandbox.world import World

# (action, share of the table per simulated hour, table the share is taken of)
RATES: tuple[tuple[str, float, str], ...] = (
    ("new_plan", 0.002, "plans"),
    ("new_customer", 0.002, "customers"),
    ("update_customer", 0.004, "customers"),
    ("delete_customer", 0.0006, "customers"),
    ("update_plan", 0.003, "plans"),
    ("delete_plan", 0.0008, "plans"),
    ("new_subscription", 0.002, "subscriptions"),
    ("update_subscription", 0.004, "subscriptions"),
    ("new_invoice", 0.003, "invoices"),
    ("advance_invoice", 0.004, "invoices"),
    ("update_item", 0.002, "invoice_items"),
    ("delete_item", 0.0008, "invoice_items"),
    ("new_payment", 0.003, "payments"),
    ("refund_or_dispute", 0.0008, "payments"),
    ("update_refund", 0.004, "refunds"),
    ("update_event", 0.0006, "events"),
)

SUB_NEXT = {"trialing": ["active"], "active": ["past_due", "canceled", "active"],
            "past_due": ["active", "unpaid", "canceled"], "unpaid": ["canceled"],
            "canceled": ["canceled"]}
DISPUTE_NEXT = {"needs_response": "under_review", "under_review": "won", "won": "won",
                "lost": "lost"}


def mutate(world: World, resource: str, record: dict[str, Any], at_us: int) -> None:
    """Change one record the way the vendor does on an update (no cross-record effects)."""
    rng = world.rng
    if resource == "customers":
        field = rng.choice(["email", "phone", "balance", "metadata"])
        if field == "email":
            local, _, domain = record["email"].partition("@")
            record["email"] = f"{local.rstrip('0123456789')}{rng.randint(1, 999)}@{domain}"
        elif field == "phone":
            record["phone"] = record["phone"][:-4] + f"{rng.randint(0, 9999):04d}"
        elif field == "balance":
            record["balance"] += rng.choice([-1500, -500, 500, 2500])
        else:
            record["metadata"] = {**record["metadata"], "last_login": fmt_us(at_us)[:10]}
    elif resource == "plans":
        record["active"] = not record["active"]
    elif resource == "subscriptions":
        record["status"] = status = rng.choice(SUB_NEXT[record["status"]])
        if status == "canceled" and record["canceled_at"] is None:
            record["canceled_at"] = fmt_us(at_us)
        record["quantity"] = max(1, record["quantity"] + rng.choice([0, 0, 1, -1]))
        record["items"] = [dict(i, quantity=record["quantity"]) for i in record["items"]]
    elif resource == "invoice_items":
        record["quantity"] += 1
        record["amount"] = record["quantity"] * record["unit_amount"]
    elif resource == "invoices":
        record["due_date"] = record["due_date"] or fmt_us(at_us + 14 * 24 * HOUR)
    elif resource == "payments":
        if record["status"] == "pending":
            record["status"], record["captured_at"] = "succeeded", fmt_us(at_us)
    elif resource == "refunds":
        if record["status"] == "pending":
            record["status"] = rng.choice(["succeeded", "failed"])
        else:
            record["reason"] = record["reason"] or "requested_by_customer"
    elif resource == "events":
        dispute = record["payload"].get("dispute")
        if dispute is not None:
            dispute["status"] = DISPUTE_NEXT.get(dispute["status"], "under_review")
        else:
            # A late correction of the payment network's data.
            record["payload"]["risk"] = {"score": rng.randint(0, 99), "level": "reviewed"}


def evolve(world: World, start_us: int, end_us: int, activity: float = 1.0) -> None:
    """Write every change the vendor makes in [start_us, end_us); `activity` scales all rates
    (0 freezes the data: only late versions are released)."""
    if end_us <= start_us:
        return
    rng = world.rng
    hours = (end_us - start_us) / HOUR
    plan: list[tuple[int, int, str]] = []
    for n, (action, share, table) in enumerate(RATES):
        # A floor keeps tiny tables (a dozen plans) changing now and then.
        expected = max(share * len(world.store.tables[table].latest), 0.02) * hours * activity
        count = int(expected) + (rng.random() < expected - int(expected))
        plan.extend((rng.randrange(start_us, end_us), n, action) for _ in range(count))
    plan.sort()
    pools: dict[str, list[str]] = {}
    for at, _, action in plan:
        world.now_us = at
        ACTIONS[action](world, at, pools)
    world.now_us = end_us


def _pick(world: World, resource: str, pools: dict[str, list[str]]) -> dict[str, Any] | None:
    pool = pools.get(resource)
    if pool is None:
        pool = pools[resource] = list(world.store.tables[resource].latest)
    for _ in range(5):  # ids deleted since the pool was taken are skipped
        if not pool:
            return None
        found = world.record(resource, world.rng.choice(pool))
        if found is not None:
            return found
    return None


def _update(resource: str):  # type: ignore[no-untyped-def]
    def act(world: World, at: int, pools: dict[str, list[str]]) -> None:
        record = _pick(world, resource, pools)
        if record is not None:
            mutate(world, resource, record, at)
            world.update(resource, record, at)
    return act


def _new_plan(world: World, at: int, pools: dict[str, list[str]]) -> None:
    cur = world.rng.choice(("usd", "eur", "gbp"))
    n = len(world.store.tables["plans"].latest)
    p = rec.plan(world.rng, world.new_id("plans"), n, cur, at, at)
    world.plans_by_currency[cur].append(p)
    world.put("plans", p, at)


def _new_customer(world: World, at: int, pools: dict[str, list[str]]) -> None:
    world.put("customers", rec.customer(world.rng, world.new_id("customers"), at, at), at)


def _delete_unreferenced(resource: str, referenced_attr: str):  # type: ignore[no-untyped-def]
    def act(world: World, at: int, pools: dict[str, list[str]]) -> None:
        referenced = getattr(world, referenced_attr)
        table = world.store.tables[resource]
        for _ in range(20):
            rid = world.rng.choice(pools.setdefault(resource, list(table.latest)) or [""])
            if rid in table.latest and rid not in referenced:
                world.delete(resource, rid, at)
                return
    return act


def _new_subscription(world: World, at: int, pools: dict[str, list[str]]) -> None:
    cust = _pick(world, "customers", pools)
    plans = world.plans_by_currency.get(cust["currency"], []) if cust else []
    plans = [p for p in plans if p["id"] in world.store.tables["plans"].latest]
    if cust is None or not plans:
        return
    p = world.rng.choice(plans)
    sub = rec.subscription(world.rng, world.new_id("subscriptions"), cust["id"], p, at, at)
    world.referenced_customers.add(cust["id"])
    world.referenced_plans.add(p["id"])
    world.put("subscriptions", sub, at)


def _new_invoice(world: World, at: int, pools: dict[str, list[str]]) -> None:
    sub = _pick(world, "subscriptions", pools)
    if sub is None:
        return
    plan_rec = world.record("plans", sub["plan_id"])
    currency = plan_rec["currency"] if plan_rec else "usd"
    world.invoice_with_items(sub["customer_id"], sub["id"], currency, plan_rec, "draft", at, at,
                             False)


def _advance_invoice(world: World, at: int, pools: dict[str, list[str]]) -> None:
    inv = _pick(world, "invoices", pools)
    if inv is None:
        return
    rng = world.rng
    if inv["status"] == "draft":
        inv["status"], inv["due_date"] = "open", fmt_us(at + 14 * 24 * HOUR)
        world.draft_items.pop(inv["id"], None)  # finalized lines are never deleted
    elif inv["status"] == "open":
        outcome = rec.weighted(rng, ("paid", "void", "uncollectible", "failed"), (80, 5, 3, 12))
        if outcome == "failed":
            world.payment_with_events(inv, "failed", at, False)
            return
        inv["status"] = outcome
        if outcome == "paid":
            inv.update(amount_paid=inv["total"], amount_due=0, paid_at=fmt_us(at))
            world.payment_with_events(inv, "succeeded", at, False)
        elif outcome == "void":
            inv["amount_due"] = 0
    else:
        mutate(world, "invoices", inv, at)
    world.update("invoices", inv, at)


def _draft_line(world: World, delete: bool) -> tuple[str, str] | None:
    # Only lines of draft invoices change or disappear; a draft keeps at least one line.
    drafts = sorted(i for i, items in world.draft_items.items() if len(items) > int(delete))
    if not drafts:
        return None
    invoice_id = world.rng.choice(drafts)
    lines = world.draft_items[invoice_id]
    return invoice_id, (lines.pop() if delete else world.rng.choice(lines))


def _retotal(world: World, invoice_id: str, delta: int, at: int) -> None:
    inv = world.record("invoices", invoice_id)
    if inv is None:
        return
    old = inv["subtotal"]
    inv["subtotal"] = max(0, old + delta)
    inv["tax"] = inv["tax"] * inv["subtotal"] // old if old else 0
    inv["total"] = inv["amount_due"] = inv["subtotal"] + inv["tax"]
    world.update("invoices", inv, at)


def _update_item(world: World, at: int, pools: dict[str, list[str]]) -> None:
    found = _draft_line(world, delete=False)
    item = found and world.record("invoice_items", found[1])
    if found and item:
        before = item["amount"]
        mutate(world, "invoice_items", item, at)
        world.update("invoice_items", item, at)
        _retotal(world, found[0], item["amount"] - before, at)


def _delete_item(world: World, at: int, pools: dict[str, list[str]]) -> None:
    found = _draft_line(world, delete=True)
    item = found and world.record("invoice_items", found[1])
    if found and item:
        world.delete("invoice_items", item["id"], at)
        _retotal(world, found[0], -item["amount"], at)


def _new_payment(world: World, at: int, pools: dict[str, list[str]]) -> None:
    cust = _pick(world, "customers", pools)
    if cust is None:
        return
    one_off = {"id": None, "customer_id": cust["id"], "currency": cust["currency"],
               "total": world.rng.choice([500, 1999, 4900, 12000])}
    world.payment_with_events(one_off, world.rng.choice(["succeeded", "succeeded", "pending"]),
                              at, False)


def _refund_or_dispute(world: World, at: int, pools: dict[str, list[str]]) -> None:
    pay = _pick(world, "payments", pools)
    if pay is None or pay["status"] != "succeeded":
        return
    rng = world.rng
    if rng.random() < 0.75:
        pay["status"] = "refunded" if rng.random() < 0.7 else "partially_refunded"
        pay["amount_refunded"] = (pay["amount"] if pay["status"] == "refunded"
                                  else pay["amount"] // 2)
        world.update("payments", pay, at)
        world.put("refunds", rec.refund(rng, world.new_id("refunds"), pay, at, at), at)
        world.add_event(pay, "REFUNDED", at)
    else:
        pay["status"] = "disputed"
        world.update("payments", pay, at)
        t = world.add_event(pay, "CHARGEBACK_OPENED", at)
        world.add_event(pay, "DISPUTE_UPDATED", t + rng.randint(1, 600) * US)


def _update_event(world: World, at: int, pools: dict[str, list[str]]) -> None:
    rng = world.rng
    if world.disputes and rng.random() < 0.7:
        # Disputes change status in place: same event_id, new updated_at.
        if "disputes" not in pools:
            pools["disputes"] = sorted(world.disputes.values())
        ev = world.record("events", rng.choice(pools["disputes"]))
    else:
        ev = _pick(world, "events", pools)
    if ev is not None:
        mutate(world, "events", ev, at)
        world.update("events", ev, at)


ACTIONS = {
    "new_plan": _new_plan,
    "new_customer": _new_customer,
    "update_customer": _update("customers"),
    "delete_customer": _delete_unreferenced("customers", "referenced_customers"),
    "update_plan": _update("plans"),
    "delete_plan": _delete_unreferenced("plans", "referenced_plans"),
    "new_subscription": _new_subscription,
    "update_subscription": _update("subscriptions"),
    "new_invoice": _new_invoice,
    "advance_invoice": _advance_invoice,
    "update_item": _update_item,
    "delete_item": _delete_item,
    "new_payment": _new_payment,
    "refund_or_dispute": _refund_or_dispute,
    "update_refund": _update("refunds"),
    "update_event": _update_event,
}
