"""OAuth2 client credentials: form and Basic, invalid_client vs invalid_token, expiry,
revocation, the token endpoint's own 10/min limit, and 403 for a restricted client."""

from __future__ import annotations

import requests

FORM = {"grant_type": "client_credentials", "client_id": "demo-client",
        "client_secret": "demo-secret"}


def get_token(url: str, **kw: object) -> requests.Response:
    return requests.post(f"{url}/oauth/token", timeout=10, **kw)


def test_form_and_basic_both_issue_tokens(sandbox):
    sb = sandbox(token_lifetime_seconds=321)
    for resp in (get_token(sb.url, data=FORM),
                 get_token(sb.url, data={"grant_type": "client_credentials"},
                           auth=("demo-client", "demo-secret"))):
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 321
        r = requests.get(f"{sb.url}/v1/plans",
                         headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=10)
        assert r.status_code == 200


def test_wrong_credentials_are_invalid_client(sandbox):
    sb = sandbox()
    for kw in ({"data": {**FORM, "client_secret": "nope"}},
               {"data": {"grant_type": "client_credentials"}, "auth": ("demo-client", "x")},
               {"data": {**FORM, "client_id": "who"}}):
        r = get_token(sb.url, **kw)
        assert r.status_code == 401
        assert r.json()["error"]["type"] == "invalid_client"
        assert r.json()["error"]["request_id"] == r.headers["X-Request-Id"]
    r = get_token(sb.url, data={**FORM, "grant_type": "password"})
    assert r.status_code == 400


def test_missing_unknown_expired_revoked_tokens_are_invalid_token(sandbox):
    sb = sandbox(token_lifetime_seconds=60)
    url = f"{sb.url}/v1/customers"
    for headers in ({}, {"Authorization": "Bearer made-up"}):
        r = requests.get(url, headers=headers, timeout=10)
        assert r.status_code == 401 and r.json()["error"]["type"] == "invalid_token"
    tok = get_token(sb.url, data=FORM).json()["access_token"]
    auth = {"Authorization": f"Bearer {tok}"}
    assert requests.get(url, headers=auth, timeout=10).status_code == 200
    sb.advance(seconds=61)  # the operational clock ages with the simulated one
    r = requests.get(url, headers=auth, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["type"] == "invalid_token"
    tok = get_token(sb.url, data=FORM).json()["access_token"]
    auth = {"Authorization": f"Bearer {tok}"}
    assert requests.get(url, headers=auth, timeout=10).status_code == 200
    assert sb.revoke_tokens() >= 1  # early revocation, before expires_in
    r = requests.get(url, headers=auth, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["type"] == "invalid_token"


def test_configured_lifetime_and_clients(sandbox):
    sb = sandbox(clients={"acme": "s3cret"})
    assert get_token(sb.url, data=FORM).status_code == 401
    ok = get_token(sb.url, data={"grant_type": "client_credentials", "client_id": "acme",
                                 "client_secret": "s3cret"})
    assert ok.status_code == 200
    r = requests.post(f"{sb.url}/_sandbox/config", json={"token_lifetime_seconds": 5},
                      timeout=10)
    assert r.status_code == 200
    ok = get_token(sb.url, data={}, auth=("acme", "s3cret"))
    # grant_type is required even with Basic auth
    assert ok.status_code == 400
    ok = get_token(sb.url, data={"grant_type": "client_credentials"}, auth=("acme", "s3cret"))
    assert ok.json()["expires_in"] == 5


def test_token_endpoint_allows_ten_per_minute(sandbox):
    sb = sandbox()
    statuses = [get_token(sb.url, data=FORM).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    r = get_token(sb.url, data=FORM)
    assert r.status_code == 429 and "Retry-After" in r.headers
    sb.advance(seconds=61)
    assert get_token(sb.url, data=FORM).status_code == 200


def test_restricted_client_gets_403(sandbox):
    sb = sandbox()
    tok = get_token(sb.url, data={"grant_type": "client_credentials",
                                  "client_id": "limited-client",
                                  "client_secret": "limited-secret"}).json()["access_token"]
    auth = {"Authorization": f"Bearer {tok}"}
    assert requests.get(f"{sb.url}/v1/customers", headers=auth, timeout=10).status_code == 200
    r = requests.get(f"{sb.url}/v1/invoices", headers=auth, timeout=10)
    assert r.status_code == 403 and r.json()["error"]["type"] == "forbidden"
    assert r.json()["error"]["request_id"] == r.headers["X-Request-Id"]
