"""Listing, paging, cursors, fields= and lookups against a real sandbox over HTTP."""

from __future__ import annotations

import base64

import requests

from partnerapi_sandbox.store import RESOURCES, id_field

CREDS = {"grant_type": "client_credentials", "client_id": "demo-client",
         "client_secret": "demo-secret"}


def token(url: str) -> dict[str, str]:
    r = requests.post(f"{url}/oauth/token", data=CREDS, timeout=10)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def page_all(url: str, auth: dict[str, str], resource: str, **params: object) -> list[dict]:
    out: list[dict] = []
    query = {"page_size": 500, **params}
    while True:
        r = requests.get(f"{url}/v1/{resource}", params=query, headers=auth, timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["count"] == len(body["data"])
        out.extend(body["data"])
        if not body["has_more"]:
            assert body["next_cursor"] is None
            return out
        query["cursor"] = body["next_cursor"]


def test_paging_every_resource_equals_truth(sandbox):
    sb = sandbox(seed=3)
    auth = token(sb.url)
    for resource in RESOURCES:
        rows = page_all(sb.url, auth, resource)
        key = id_field(resource)
        by_id = {r[key]: r for r in rows}
        assert len(by_id) == len(rows), "no duplicates with faults off"
        assert by_id == sb.truth(resource), resource
        order = [(r["updated_at"], r[key]) for r in rows]
        assert order == sorted(order), "ordered by (updated_at, id)"


def test_window_filters_are_inclusive_exclusive(sandbox):
    sb = sandbox(seed=4)
    auth = token(sb.url)
    everything = page_all(sb.url, auth, "invoices")
    since, before = everything[10]["updated_at"], everything[40]["updated_at"]
    rows = page_all(sb.url, auth, "invoices", updated_since=since, updated_before=before,
                    page_size=7)
    expected = [r for r in everything if since <= r["updated_at"] < before]
    assert rows == expected and rows[0] == everything[10]


def test_page_size_bounds(sandbox):
    sb = sandbox()
    auth = token(sb.url)
    for bad in ("0", "5001", "-3", "ten"):
        r = requests.get(f"{sb.url}/v1/plans", params={"page_size": bad}, headers=auth,
                         timeout=10)
        assert r.status_code == 400
        err = r.json()["error"]
        assert err["type"] == "invalid_request"
        assert err["request_id"] == r.headers["X-Request-Id"]
    r = requests.get(f"{sb.url}/v1/events", params={"page_size": 5000}, headers=auth, timeout=10)
    assert r.status_code == 200 and r.json()["count"] == min(5000, len(sb.truth("events")))
    r = requests.get(f"{sb.url}/v1/plans", headers=auth, timeout=10)
    assert r.json()["count"] == min(100, len(sb.truth("plans")))


def test_same_cursor_returns_same_page(sandbox):
    sb = sandbox()
    auth = token(sb.url)
    first = requests.get(f"{sb.url}/v1/payments", params={"page_size": 50}, headers=auth,
                         timeout=10).json()
    query = {"page_size": 50, "cursor": first["next_cursor"]}
    again = [requests.get(f"{sb.url}/v1/payments", params=query, headers=auth, timeout=10).json()
             for _ in range(2)]
    assert again[0] == again[1]
    assert {r["id"] for r in again[0]["data"]}.isdisjoint({r["id"] for r in first["data"]})


def test_bad_forged_mismatched_and_expired_cursors(sandbox):
    sb = sandbox()
    auth = token(sb.url)
    url = f"{sb.url}/v1/customers"
    first = requests.get(url, params={"page_size": 5}, headers=auth, timeout=10).json()
    cursor = first["next_cursor"]
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[-3] ^= 1
    forged = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    for params in ({"cursor": "nonsense"}, {"cursor": forged},
                   {"cursor": cursor, "updated_since": "2020-01-01T00:00:00Z"}):
        r = requests.get(url, params=params, headers=auth, timeout=10)
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_cursor", params
    sb.advance(hours=23, minutes=59)
    auth = token(sb.url)
    assert requests.get(url, params={"page_size": 5, "cursor": cursor}, headers=auth,
                        timeout=10).status_code == 200
    sb.advance(minutes=1)
    auth = token(sb.url)
    r = requests.get(url, params={"page_size": 5, "cursor": cursor}, headers=auth, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_cursor"


def test_fields_subset_always_has_id(sandbox):
    sb = sandbox()
    auth = token(sb.url)
    rows = page_all(sb.url, auth, "events", fields="updated_at")
    assert rows and all(set(r) == {"event_id", "updated_at"} for r in rows)
    assert {r["event_id"] for r in rows} == set(sb.truth("events"))
    rows = page_all(sb.url, auth, "customers", fields="email,address")
    assert all(set(r) == {"id", "email", "address"} for r in rows)
    r = requests.get(f"{sb.url}/v1/customers", params={"fields": "id,nope"}, headers=auth,
                     timeout=10)
    assert r.status_code == 400


def test_lookup_by_id_and_404s(sandbox):
    sb = sandbox()
    auth = token(sb.url)
    for resource in RESOURCES:
        rid, record = next(iter(sb.truth(resource).items()))
        r = requests.get(f"{sb.url}/v1/{resource}/{rid}", headers=auth, timeout=10)
        assert r.status_code == 200 and r.json() == record
    r = requests.get(f"{sb.url}/v1/events/evt_doesnotexist", headers=auth, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"
    assert r.json()["error"]["request_id"] == r.headers["X-Request-Id"]
    r = requests.get(f"{sb.url}/v1/widgets", headers=auth, timeout=10)
    assert r.status_code == 404


def test_responses_carry_simulated_date_and_request_ids(sandbox):
    sb = sandbox(start_time="2026-01-02T03:04:05Z")
    auth = token(sb.url)
    r = requests.get(f"{sb.url}/v1/plans", headers=auth, timeout=10)
    assert r.headers["Date"] == "Fri, 02 Jan 2026 03:04:05 GMT"
    sb.advance(hours=1)
    r2 = requests.get(f"{sb.url}/v1/plans", headers=auth, timeout=10)
    assert r2.headers["Date"] == "Fri, 02 Jan 2026 04:04:05 GMT"
    assert r.headers["X-Request-Id"] != r2.headers["X-Request-Id"]
    assert all(r["updated_at"] < "2026-01-02T03:04:05.000000Z" for r in r.json()["data"])


def test_same_seed_same_data(sandbox):
    a = sandbox(seed=11, start_time="2026-03-01T00:00:00Z")
    b = sandbox(seed=11, start_time="2026-03-01T00:00:00Z")
    c = sandbox(seed=12, start_time="2026-03-01T00:00:00Z")
    assert a.truth("events") == b.truth("events")
    assert a.truth("customers") != c.truth("customers")
