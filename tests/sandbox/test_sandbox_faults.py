"""Every fault kind fires, is counted, and is recovered from by repeating the request the way
the contract says."""

from __future__ import annotations

import http.client
import json

import pytest
import requests

from partnerapi_sandbox.faults import KINDS
from partnerapi_sandbox.store import RESOURCES, id_field

FORM = {"grant_type": "client_credentials", "client_id": "demo-client",
        "client_secret": "demo-secret"}


def auth_for(url: str) -> dict[str, str]:
    tok = requests.post(f"{url}/oauth/token", data=FORM, timeout=10).json()["access_token"]
    return {"Authorization": f"Bearer {tok}"}


def faulty(sandbox, kind: str, **kw):  # type: ignore[no-untyped-def]
    sb = sandbox(seed=21, activity=0, **kw)
    auth = auth_for(sb.url)
    clean = requests.get(f"{sb.url}/v1/payments", params={"page_size": 40}, headers=auth,
                         timeout=10).json()
    sb.set_faults({kind: 1.0})
    return sb, auth, clean


def get(sb, auth, timeout=10.0, **params):  # type: ignore[no-untyped-def]
    return requests.get(f"{sb.url}/v1/payments", params={"page_size": 40, **params},
                        headers=auth, timeout=timeout)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_then_repeat_succeeds(sandbox, status):
    sb, auth, clean = faulty(sandbox, f"http_{status}")
    r = get(sb, auth)
    assert r.status_code == status
    assert r.headers["X-Request-Id"]
    assert get(sb, auth).json() == clean
    assert sb.counters()["faults"][f"http_{status}"] == 1


def test_timeout_never_answers_then_repeat_succeeds(sandbox):
    sb, auth, clean = faulty(sandbox, "timeout", hang_seconds=0.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(sb, auth, timeout=0.2)
    assert get(sb, auth).json() == clean
    sb.set_faults({"timeout": 1.0})
    with pytest.raises(requests.exceptions.ConnectionError):
        get(sb, auth, timeout=5, cursor=clean["next_cursor"])  # waits, then the server hangs up
    assert get(sb, auth, cursor=clean["next_cursor"]).status_code == 200
    assert sb.counters()["faults"]["timeout"] == 2


def test_slow_answer(sandbox):
    sb, auth, clean = faulty(sandbox, "slow", hang_seconds=0.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(sb, auth, timeout=0.2)
    assert get(sb, auth).json() == clean  # the repeat is not slowed again
    sb.set_faults({"slow": 1.0})
    r = get(sb, auth, timeout=5, cursor=clean["next_cursor"])
    assert r.status_code == 200 and r.json()["count"] == 40
    assert sb.counters()["faults"]["slow"] == 2


def test_partial_page_then_repeat_returns_whole_page(sandbox):
    sb, auth, clean = faulty(sandbox, "partial_page")
    partial = get(sb, auth).json()
    assert partial["count"] == 40 and len(partial["data"]) < 40
    assert partial["next_cursor"] == clean["next_cursor"]
    whole = get(sb, auth).json()
    assert whole == clean and len(whole["data"]) == whole["count"]
    assert all(r in whole["data"] for r in partial["data"])


def test_truncated_body_then_repeat_succeeds(sandbox):
    sb, auth, clean = faulty(sandbox, "truncated_body")
    conn = http.client.HTTPConnection("127.0.0.1", sb.port, timeout=10)
    conn.request("GET", "/v1/payments?page_size=40", headers=auth)
    resp = conn.getresponse()
    announced = int(resp.headers["Content-Length"])
    with pytest.raises(http.client.IncompleteRead) as exc:
        resp.read()
    assert 0 < len(exc.value.partial) < announced, "full length announced, body cut short"
    with pytest.raises(ValueError):
        json.loads(exc.value.partial)
    conn.close()
    assert get(sb, auth).json() == clean
    assert sb.counters()["faults"]["truncated_body"] == 1


def test_duplicate_page_repeats_records_already_returned(sandbox):
    sb, auth, clean = faulty(sandbox, "duplicate_page")
    dup = get(sb, auth, cursor=clean["next_cursor"]).json()
    first_ids = {r["id"] for r in clean["data"]}
    assert {r["id"] for r in dup["data"]} & first_ids
    proper = get(sb, auth, cursor=clean["next_cursor"]).json()
    assert not {r["id"] for r in proper["data"]} & first_ids
    assert sb.counters()["faults"]["duplicate_page"] == 1


def test_records_move_while_paging(sandbox):
    sb = sandbox(seed=22, activity=0)
    auth = auth_for(sb.url)
    sb.set_faults({"moved_record": 1.0})
    seen: list[dict] = []
    query: dict[str, object] = {"page_size": 100}
    while True:
        body = requests.get(f"{sb.url}/v1/customers", params=query, headers=auth,
                            timeout=10).json()
        seen.extend(body["data"])
        if not body["has_more"]:
            break
        query["cursor"] = body["next_cursor"]
    ids = [r["id"] for r in seen]
    assert len(ids) > len(set(ids)), "a moved record shows up twice"
    latest: dict[str, dict] = {}
    for r in seen:  # the client's dedup: the newest updated_at per id wins
        if r["id"] not in latest or r["updated_at"] > latest[r["id"]]["updated_at"]:
            latest[r["id"]] = r
    assert latest == sb.truth("customers")
    assert sb.counters()["faults"]["moved_record"] >= 1


def test_rate_limit_burst_with_retry_after(sandbox):
    sb, auth, clean = faulty(sandbox, "rate_limit_burst", max_retry_after_seconds=3)
    first = get(sb, auth)
    assert first.status_code == 429 and first.json()["error"]["type"] == "rate_limited"
    again = get(sb, auth)
    assert again.status_code == 429, "retrying before Retry-After is rejected again"
    assert sb.counters()["rate_limited"] == 2
    assert first.headers["Retry-After"] in ("1", "2", "3")  # capped for tests
    sb.advance(seconds=3)  # activity=0: only the operational clock matters here
    assert get(sb, auth).json()["data"] == clean["data"]


def test_token_revoked_early(sandbox):
    sb, auth, clean = faulty(sandbox, "token_revoked")
    r = get(sb, auth)
    assert r.status_code == 401 and r.json()["error"]["type"] == "invalid_token"
    assert get(sb, auth).status_code == 401, "the revoked token stays revoked"
    assert get(sb, auth_for(sb.url)).json() == clean


def test_lookups_get_generic_faults_too(sandbox):
    sb, auth, _ = faulty(sandbox, "truncated_body")
    pid = next(iter(sb.truth("payments")))
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f"{sb.url}/v1/payments/{pid}", headers=auth, timeout=10).json()
    r = requests.get(f"{sb.url}/v1/payments/{pid}", headers=auth, timeout=10)
    assert r.json() == sb.truth("payments")[pid]


def robust_list(sb, resource: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """The contract's recovery rules, applied naively: repeat until a whole page arrives."""
    auth, rows, query = auth_for(sb.url), [], {"page_size": 250}
    while True:
        try:
            r = requests.get(f"{sb.url}/v1/{resource}", params=query, headers=auth, timeout=0.2)
        except requests.exceptions.RequestException:
            continue
        if r.status_code == 401:
            auth = auth_for(sb.url)
            continue
        if r.status_code == 429:
            value = r.headers["Retry-After"]
            sb.advance(seconds=int(value) if value.isdigit() else sb.max_retry_after_seconds)
            continue
        if r.status_code != 200:
            continue
        try:
            body = r.json()
        except ValueError:
            continue
        if len(body["data"]) != body["count"]:
            continue
        rows.extend(body["data"])
        if not body["has_more"]:
            return rows
        query["cursor"] = body["next_cursor"]


def test_heavy_preset_fires_every_kind_and_a_careful_reader_still_gets_truth(sandbox):
    sb = sandbox(seed=23, activity=0, faults="heavy", hang_seconds=0.3,
                 max_retry_after_seconds=1)
    for resource in RESOURCES:
        latest: dict[str, dict] = {}
        for r in robust_list(sb, resource):
            key = r[id_field(resource)]
            if key not in latest or r["updated_at"] >= latest[key]["updated_at"]:
                latest[key] = r
        assert latest == sb.truth(resource), resource
    fired = sb.counters()["faults"]
    assert sum(fired.values()) > 10
    assert sum(v > 0 for v in fired.values()) >= len(KINDS) // 2, fired
