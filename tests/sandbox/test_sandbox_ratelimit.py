"""Per-client rate limit: X-RateLimit-* headers, 429 with Retry-After in both formats, early
retries rejected again and counted."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import requests

FORM = {"grant_type": "client_credentials", "client_id": "demo-client",
        "client_secret": "demo-secret"}


def auth_for(url: str) -> dict[str, str]:
    tok = requests.post(f"{url}/oauth/token", data=FORM, timeout=10).json()["access_token"]
    return {"Authorization": f"Bearer {tok}"}


def wait_seconds(resp: requests.Response) -> float:
    """Retry-After as seconds; an HTTP-date is relative to the response's Date header."""
    value = resp.headers["Retry-After"]
    if value.isdigit():
        return float(value)
    return (parsedate_to_datetime(value) - parsedate_to_datetime(resp.headers["Date"])
            ).total_seconds()


def test_headers_on_every_response(sandbox):
    sb = sandbox(rate_limit_per_minute=50)
    auth = auth_for(sb.url)  # the token request counts too: shared by every endpoint
    seen = []
    for path in ("/v1/plans", "/v1/plans/plan_nope", "/v1/nothing"):
        r = requests.get(sb.url + path, headers=auth, timeout=10)
        assert r.headers["X-RateLimit-Limit"] == "50"
        seen.append(int(r.headers["X-RateLimit-Remaining"]))
        reset = int(r.headers["X-RateLimit-Reset"])
        date = parsedate_to_datetime(r.headers["Date"]).timestamp()
        assert 0 < reset - date <= 60
    assert seen == [48, 47, 46]


def test_over_limit_429_both_formats_and_early_retries_count(sandbox):
    sb = sandbox(rate_limit_per_minute=5)
    auth = auth_for(sb.url)
    url = f"{sb.url}/v1/customers"
    statuses = [requests.get(url, headers=auth, timeout=10).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    rejected = [requests.get(url, headers=auth, timeout=10) for _ in range(3)]
    assert all(r.status_code == 429 for r in rejected)
    assert all(r.json()["error"]["type"] == "rate_limited" for r in rejected)
    formats = {r.headers["Retry-After"].isdigit() for r in rejected}
    assert formats == {True, False}, "seconds and HTTP-date are both used"
    waits = [wait_seconds(r) for r in rejected]
    assert all(1 <= w <= 60 for w in waits)
    assert sb.counters()["rate_limited"] == 4
    sb.advance(seconds=max(waits))
    r = requests.get(url, headers=auth, timeout=10)
    assert r.status_code == 200


def test_limit_is_per_client_id(sandbox):
    sb = sandbox(rate_limit_per_minute=3,
                 clients={"demo-client": "demo-secret", "other": "other-secret"})
    auth = auth_for(sb.url)
    for _ in range(2):
        requests.get(f"{sb.url}/v1/plans", headers=auth, timeout=10)
    assert requests.get(f"{sb.url}/v1/plans", headers=auth, timeout=10).status_code == 429
    tok = requests.post(f"{sb.url}/oauth/token", data={**FORM, "client_id": "other",
                                                       "client_secret": "other-secret"},
                        timeout=10).json()["access_token"]
    r = requests.get(f"{sb.url}/v1/plans", headers={"Authorization": f"Bearer {tok}"},
                     timeout=10)
    assert r.status_code == 200


def test_limit_configurable_at_runtime(sandbox):
    sb = sandbox(rate_limit_per_minute=1000)
    r = requests.post(f"{sb.url}/_sandbox/config", json={"rate_limit_per_minute": 2}, timeout=10)
    assert r.json()["rate_limit_per_minute"] == 2
    auth = auth_for(sb.url)
    assert requests.get(f"{sb.url}/v1/plans", headers=auth, timeout=10).status_code == 200
    assert requests.get(f"{sb.url}/v1/plans", headers=auth, timeout=10).status_code == 429
