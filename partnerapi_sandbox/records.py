"""Factories for realistic vendor records (one function per resource).

Every factory takes an explicit `random.Random` so the data is a pure function of the seed.
Money is an int in minor units with a lowercase ISO 4217 currency, as the contract says.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random
from typing import Any

from partnerapi_sandbox.timeutil import DAY, fmt_us

Record = dict[str, Any]

PREFIX = {
    "customers": "cus",
    "plans": "plan",
    "subscriptions": "sub",
    "invoices": "in",
    "invoice_items": "ii",
    "payments": "pay",
    "refunds": "re",
    "events": "evt",
    "transactions": "txn",  # not a resource: the payment network's id, carried by payments
}

FIRST = ["Ada", "Bela", "Chen", "Dara", "Emil", "Farah", "Goran", "Hana", "Ivo", "Jonas",
         "Kemi", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tomas"]
LAST = ["Lovelace", "Novak", "Wei", "Okafor", "Schmidt", "Haddad", "Petrov", "Sato", "Costa",
        "Berg", "Adeyemi", "Müller", "García", "Nkosi", "Rahman", "Patel", "O'Brien", "Silva",
        "Larsen", "Dvořák"]
PLACES = {
    "us": ("usd", "+1 212 555 ", [("New York", "10001"), ("Austin", "73301"), ("Denver", "80202")]),
    "gb": ("gbp", "+44 20 7946 ", [("London", "EC1A 1BB"), ("Leeds", "LS1 4AP")]),
    "de": ("eur", "+49 30 901820", [("Berlin", "10115"), ("München", "80331")]),
    "fr": ("eur", "+33 1 70 18 ", [("Paris", "75002"), ("Lyon", "69001")]),
    "nl": ("eur", "+31 20 794 ", [("Amsterdam", "1012 JS"), ("Utrecht", "3511 AX")]),
}
STREETS = ["Market Street", "High Street", "Hauptstraße", "Rue de Rivoli", "Keizersgracht",
           "Elm Avenue", "Station Road", "Mill Lane"]
PRODUCTS = ["Starter", "Growth", "Scale", "Enterprise", "Analytics add-on", "Extra seats",
            "Priority support", "Storage pack"]
BRANDS = ["visa", "mastercard", "amex", "discover"]
MERCHANTS = [("mer_0001", "5734", "Northwind Software"), ("mer_0002", "7372", "Contoso Cloud"),
             ("mer_0003", "5968", "Fabrikam Subscriptions")]
FAILURES = ["card_declined", "insufficient_funds", "expired_card", "processing_error"]
REFUND_REASONS = [None, "requested_by_customer", "duplicate", "fraudulent"]
DISPUTE_REASONS = ["fraudulent", "product_not_received", "duplicate", "subscription_canceled"]


def weighted(rng: random.Random, options: tuple[Any, ...], weights: tuple[int, ...]) -> Any:
    """`rng.choices(options, weights)[0]` without its per-call list building (a hot path)."""
    cum = _CUM.get(weights)
    if cum is None:
        cum = _CUM[weights] = tuple(itertools.accumulate(weights))
    return options[bisect.bisect(cum, rng.random() * cum[-1])]


_CUM: dict[tuple[int, ...], tuple[int, ...]] = {}


def make_id(resource: str, seed: int, n: int, environment: str) -> str:
    """Ids are unique per environment only: every fourth id is drawn identically in both
    environments (the vendor's sandbox and production id spaces collide)."""
    scope = "shared" if n % 4 == 0 else environment
    digest = hashlib.blake2b(f"{seed}:{resource}:{n}:{scope}".encode(), digest_size=8).hexdigest()
    return f"{PREFIX[resource]}_{digest}"


def customer(rng: random.Random, cid: str, created: int, updated: int) -> Record:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    country = rng.choice(list(PLACES))
    currency, phone_prefix, cities = PLACES[country]
    city, postal = rng.choice(cities)
    handle = f"{first}.{last}".lower().replace("'", "")
    return {
        "id": cid,
        "email": f"{handle}{rng.randint(1, 999)}@example.{rng.choice(['com', 'org', 'net'])}",
        "name": f"{first} {last}",
        "phone": f"{phone_prefix}{rng.randint(0, 9999):04d}",
        "address": {"line1": f"{rng.randint(1, 250)} {rng.choice(STREETS)}", "city": city,
                    "postal_code": postal, "country": country.upper()},
        "currency": currency,
        "balance": rng.choice([0, 0, 0, -500, 1200, rng.randint(-20000, 20000)]),
        "tax_exempt": weighted(rng, ("none", "exempt", "reverse"), (90, 4, 6)),
        "metadata": rng.choice([{}, {"crm_id": f"crm-{rng.randint(1000, 99999)}"},
                                {"segment": rng.choice(["smb", "mid", "ent"]), "source": "web"}]),
        "created_at": fmt_us(created),
        "updated_at": fmt_us(updated),
    }


def plan(rng: random.Random, pid: str, n: int, currency: str, created: int, updated: int) -> Record:
    interval = rng.choice(["month", "month", "year"])
    base = rng.choice([900, 1900, 4900, 9900, 29900])
    return {
        "id": pid,
        "product_name": PRODUCTS[n % len(PRODUCTS)],
        "nickname": rng.choice([None, f"{interval}ly {currency.upper()}", "legacy"]),
        "amount": base * 10 if interval == "year" else base,
        "currency": currency,
        "interval": interval,
        "interval_count": 3 if interval == "month" and rng.random() < 0.1 else 1,
        "active": rng.random() < 0.85,
        "trial_period_days": rng.choice([None, None, 7, 14, 30]),
        "created_at": fmt_us(created),
        "updated_at": fmt_us(updated),
    }


def subscription(rng: random.Random, sid: str, customer_id: str, plan_rec: Record,
                 created: int, updated: int) -> Record:
    status = weighted(rng, ("trialing", "active", "past_due", "canceled", "unpaid"),
                      (8, 70, 8, 12, 2))
    period = 30 * DAY if plan_rec["interval"] == "month" else 365 * DAY
    start = updated - rng.randint(0, period // 2)
    quantity = rng.choice([1, 1, 1, 2, 5, 10])
    canceled = status == "canceled"
    return {
        "id": sid,
        "customer_id": customer_id,
        "plan_id": plan_rec["id"],
        "status": status,
        "quantity": quantity,
        "current_period_start": fmt_us(start),
        "current_period_end": fmt_us(start + period),
        "cancel_at_period_end": (not canceled) and rng.random() < 0.07,
        "canceled_at": fmt_us(updated) if canceled else None,
        "trial_end": fmt_us(created + 14 * DAY) if status == "trialing" else None,
        "items": [{"plan_id": plan_rec["id"], "quantity": quantity}],
        "discount": (None if rng.random() < 0.85 else
                     {"coupon": rng.choice(["WELCOME10", "BLACKFRIDAY", "PARTNER25"]),
                      "percent_off": rng.choice([10, 20, 25])}),
        "metadata": rng.choice([{}, {"sales_rep": rng.choice(FIRST).lower()}]),
        "created_at": fmt_us(created),
        "updated_at": fmt_us(updated),
    }


def invoice(rng: random.Random, iid: str, number: str, customer_id: str, sub_id: str | None,
            currency: str, subtotal: int, status: str, created: int, updated: int) -> Record:
    tax = subtotal * rng.choice([0, 0, 7, 19, 20, 21]) // 100
    total = subtotal + tax
    paid = status == "paid"
    return {
        "id": iid,
        "customer_id": customer_id,
        "subscription_id": sub_id,
        "number": number,
        "status": status,
        "currency": currency,
        "subtotal": subtotal,
        "tax": tax,
        "total": total,
        "amount_due": 0 if paid or status == "void" else total,
        "amount_paid": total if paid else 0,
        "period_start": fmt_us(created - 30 * DAY),
        "period_end": fmt_us(created),
        "due_date": None if status == "draft" else fmt_us(created + 14 * DAY),
        "paid_at": fmt_us(updated) if paid else None,
        "created_at": fmt_us(created),
        "updated_at": fmt_us(updated),
    }


def invoice_item(rng: random.Random, iid: str, invoice_rec: Record, plan_rec: Record | None,
                 created: int, updated: int) -> Record:
    quantity = rng.choice([1, 1, 2, 3, 10])
    unit = plan_rec["amount"] if plan_rec else rng.choice([250, 1000, 4500])
    return {
        "id": iid,
        "invoice_id": invoice_rec["id"],
        "subscription_id": invoice_rec["subscription_id"] if plan_rec else None,
        "plan_id": plan_rec["id"] if plan_rec else None,
        "description": (f"{plan_rec['product_name']} x {quantity}" if plan_rec
                        else rng.choice(["One-off setup fee", "Usage overage", "Credit note"])),
        "quantity": quantity,
        "unit_amount": unit,
        "amount": unit * quantity,
        "currency": invoice_rec["currency"],
        "period": {"start": invoice_rec["period_start"], "end": invoice_rec["period_end"]},
        "proration": rng.random() < 0.05,
        "created_at": fmt_us(created),
        "updated_at": fmt_us(updated),
    }


def payment(rng: random.Random, pid: str, txn: str, invoice_id: str | None, customer_id: str,
            amount: int, currency: str, status: str, created: int, updated: int) -> Record:
    captured = status not in ("pending", "failed")
    return {
        "id": pid,
        "invoice_id": invoice_id,
        "customer_id": customer_id,
        "transaction_id": txn,
        "amount": amount,
        "currency": currency,
        "status": status,
        "method": {"type": "card", "card_brand": rng.choice(BRANDS),
                   "last4": f"{rng.randint(0, 9999):04d}"},
        "failure_code": rng.choice(FAILURES) if status == "failed" else None,
        "amount_refunded": (amount if status == "refunded" else
                            amount // 2 if status == "partially_refunded" else 0),
        "captured_at": fmt_us(created + rng.randint(1, 90) * 1_000_000) if captured else None,
        "created_at": fmt_us(created),
        "updated_at": fmt_us(updated),
    }


def refund(rng: random.Random, rid: str, pay: Record, created: int, updated: int) -> Record:
    return {
        "id": rid,
        "payment_id": pay["id"],
        "transaction_id": pay["transaction_id"],
        "amount": pay["amount_refunded"] or pay["amount"],
        "currency": pay["currency"],
        "reason": rng.choice(REFUND_REASONS),
        "status": weighted(rng, ("pending", "succeeded", "failed"), (5, 92, 3)),
        "created_at": fmt_us(created),
        "updated_at": fmt_us(updated),
    }


def event(rng: random.Random, eid: str, pay: Record, event_type: str, version: int,
          occurred: int, created: int, updated: int, dispute: dict[str, Any] | None) -> Record:
    # str hash() is salted per process; the id's hex tail is stable.
    merchant = MERCHANTS[int(pay["customer_id"][-4:], 16) % len(MERCHANTS)]
    payload: dict[str, Any] = {
        "amount": pay["amount"],
        "currency": pay["currency"],
        "merchant": {"id": merchant[0], "mcc": merchant[1], "name": merchant[2]},
        "card": {"brand": pay["method"]["card_brand"], "last4": pay["method"]["last4"]},
    }
    if dispute is not None:
        payload["dispute"] = dispute
    if rng.random() < 0.3:
        payload["risk"] = {"score": rng.randint(0, 99), "level": rng.choice(["normal", "elevated"])}
    return {
        "event_id": eid,
        "transaction_id": pay["transaction_id"],
        "event_type": event_type,
        "event_version": version,
        "occurred_at": fmt_us(occurred),
        "created_at": fmt_us(created),
        "updated_at": fmt_us(updated),
        "payload": payload,
    }
