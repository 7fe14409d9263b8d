"""The simulated clock: advancing creates, updates (events in place) and hard-deletes records,
and each version becomes visible only after its lag."""

from __future__ import annotations

import random

import pytest
import requests

from partnerapi_sandbox.store import RESOURCES, id_field
from partnerapi_sandbox.timeutil import HOUR, US
from partnerapi_sandbox.world import visibility_lag

FORM = {"grant_type": "client_credentials", "client_id": "demo-client",
        "client_secret": "demo-secret"}


def auth_for(url: str) -> dict[str, str]:
    tok = requests.post(f"{url}/oauth/token", data=FORM, timeout=10).json()["access_token"]
    return {"Authorization": f"Bearer {tok}"}


def list_all(url: str, resource: str, **params: object) -> dict[str, dict]:
    auth, out, query = auth_for(url), {}, {"page_size": 1000, **params}
    while True:
        body = requests.get(f"{url}/v1/{resource}", params=query, headers=auth, timeout=10).json()
        out.update({r[id_field(resource)]: r for r in body["data"]})
        if not body["next_cursor"]:
            return out
        query["cursor"] = body["next_cursor"]


def test_advance_creates_updates_and_hard_deletes(sandbox):
    sb = sandbox(seed=5)
    before = {r: sb.truth(r) for r in RESOURCES}
    late = {r: set(sb.pending(r)) for r in RESOURCES}
    start = sb.clock()["now"]
    sb.advance(days=2)
    for resource in RESOURCES:
        after = sb.truth(resource)
        assert set(after) - set(before[resource]), f"{resource}: nothing created"
        changed = [i for i in set(after) & set(before[resource])
                   if after[i]["updated_at"] > before[resource][i]["updated_at"]]
        assert changed, f"{resource}: nothing updated"
        # Anything stamped before the advance was already written, just not yet visible.
        assert all(after[i]["updated_at"] >= start or i in late[resource] for i in changed)
    for resource in ("customers", "invoice_items"):
        gone = sb.deleted_ids(resource)
        assert gone and gone.isdisjoint(sb.truth(resource)), resource
    assert not sb.deleted_ids("invoices") and not sb.deleted_ids("payments")
    auth = auth_for(sb.url)
    gone_id = sorted(sb.deleted_ids("customers"))[0]
    r = requests.get(f"{sb.url}/v1/customers/{gone_id}", headers=auth, timeout=10)
    assert r.status_code == 404
    assert gone_id not in list_all(sb.url, "customers")


def test_events_are_updated_in_place(sandbox):
    sb = sandbox(seed=6)
    before = sb.truth("events")
    sb.advance(days=3)
    after = sb.truth("events")
    in_place = [e for e in before
                if e in after and after[e]["updated_at"] > before[e]["updated_at"]]
    assert in_place
    for e in in_place:
        old, new = before[e], after[e]
        assert (new["event_id"], new["event_type"], new["event_version"], new["created_at"]) == (
            old["event_id"], old["event_type"], old["event_version"], old["created_at"])
        assert new["payload"] != old["payload"]


def test_paging_after_advance_equals_truth(sandbox):
    sb = sandbox(seed=8)
    sb.advance(hours=30)
    for resource in RESOURCES:
        assert list_all(sb.url, resource) == sb.truth(resource), resource


def test_a_48h_late_version_appears_only_after_48h(sandbox):
    sb = sandbox(seed=9, activity=0)  # nothing else changes: only the late version matters
    old = sb.truth("invoices")
    late = sb.touch("invoices", lag_seconds=48 * 3600)
    rid = late["id"]
    assert rid in sb.pending("invoices")
    for hours in (1, 46):
        sb.advance(hours=hours)
        seen = list_all(sb.url, "invoices", updated_since=late["updated_at"])
        assert rid not in seen
        assert sb.truth("invoices")[rid]["updated_at"] == old[rid]["updated_at"]
    sb.advance(hours=1)
    seen = list_all(sb.url, "invoices", updated_since=late["updated_at"])
    assert seen[rid]["updated_at"] == late["updated_at"]
    assert sb.truth("invoices")[rid]["updated_at"] == late["updated_at"]


def test_visibility_lags_follow_the_contract():
    rng = random.Random(1)
    lags = [visibility_lag(rng) for _ in range(20000)]
    assert sum(lag <= 30 * US for lag in lags) / len(lags) > 0.8, "usually within seconds"
    assert any(30 * US < lag <= 2 * HOUR for lag in lags), "often up to 2 h"
    assert any(lag > 2 * HOUR for lag in lags), "rarely longer"
    assert max(lags) <= 48 * HOUR
    assert sum(lag > 2 * HOUR for lag in lags) / len(lags) < 0.03


def test_some_records_start_invisible_and_truth_has_no_dangling_refs(sandbox):
    sb = sandbox(seed=10)
    sb.advance(hours=12)
    assert any(sb.pending(r) for r in RESOURCES), "late versions exist at any time"

    def known(resource: str) -> set[str]:
        return set(sb.truth(resource)) | set(sb.pending(resource))

    customers, plans, subs = known("customers"), known("plans"), known("subscriptions")
    invoices, payments = known("invoices"), sb.truth("payments")
    for s in sb.truth("subscriptions").values():
        assert s["customer_id"] in customers and s["plan_id"] in plans
    for i in sb.truth("invoices").values():
        assert i["customer_id"] in customers
        assert i["subscription_id"] is None or i["subscription_id"] in subs
    for ii in sb.truth("invoice_items").values():
        assert ii["invoice_id"] in invoices
    for p in payments.values():
        assert p["invoice_id"] is None or p["invoice_id"] in invoices
        assert p["customer_id"] in customers
    pay_ids = known("payments")
    txns = {p["transaction_id"] for p in payments.values()} | {
        v["transaction_id"] for v in sb.truth("refunds").values()}
    for r in sb.truth("refunds").values():
        assert r["payment_id"] in pay_ids
    pending_pay = set(sb.pending("payments"))
    for e in sb.truth("events").values():
        assert e["transaction_id"] in txns or pending_pay, e["transaction_id"]


def test_event_versions_are_monotonic_and_skip(sandbox):
    sb = sandbox(seed=12)
    per_key: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for e in sb.truth("events").values():
        per_key.setdefault((e["transaction_id"], e["event_type"]), []).append(
            (e["occurred_at"], e["event_version"]))
    skipped = False
    for rows in per_key.values():
        versions = [v for _, v in sorted(rows)]
        assert versions == sorted(set(versions)), "strictly increasing with business time"
        skipped |= any(b - a > 1 for a, b in zip([0, *versions], versions, strict=False))
    assert skipped


def test_change_listeners_see_every_written_change(sandbox):
    sb = sandbox(seed=13)
    seen: list[tuple[str, str, str]] = []
    sb.on_change(lambda resource, kind, record, at: seen.append(
        (resource, kind, record[id_field(resource)])))
    sb.advance(days=2)
    kinds = {kind for _, kind, _ in seen}
    assert kinds == {"created", "updated", "deleted"}
    deleted = {(r, i) for r, kind, i in seen if kind == "deleted"}
    visible_deletes = {(r, i) for r in RESOURCES for i in sb.deleted_ids(r)}
    assert visible_deletes <= deleted  # a deletion may still be on its way (visibility lag)
    created_events = {i for r, kind, i in seen if r == "events" and kind == "created"}
    assert created_events & set(sb.truth("events"))


def test_a_deterministic_delete_is_announced_and_leaves_listings_after_its_lag(sandbox):
    sb = sandbox(seed=13)
    seen: list[tuple[str, str, str]] = []
    sb.on_change(lambda resource, kind, record, at: seen.append(
        (resource, kind, record[id_field(resource)])))
    now_gone = sb.delete("customers")
    later_gone = sb.delete("customers", lag_seconds=3600)
    assert seen == [("customers", "deleted", now_gone), ("customers", "deleted", later_gone)]
    seen.clear()
    assert now_gone not in sb.truth("customers") and now_gone in sb.deleted_ids("customers")
    assert later_gone in sb.truth("customers")
    sb.advance(hours=1, seconds=1)
    assert later_gone not in sb.truth("customers")
    with pytest.raises(ValueError):
        sb.delete("payments")
