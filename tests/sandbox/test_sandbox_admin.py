"""The admin API mirrors the Python API, for sandboxes in another process."""

from __future__ import annotations

import requests


def admin(sb, method: str, path: str, body: dict | None = None):  # type: ignore[no-untyped-def]
    r = requests.request(method, f"{sb.url}/_sandbox/{path}", json=body, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["X-Request-Id"]
    return r.json()


def test_admin_mirrors_python_api(sandbox):
    sb = sandbox(seed=41, start_time="2026-02-01T00:00:00Z")
    assert admin(sb, "GET", "clock")["now"] == "2026-02-01T00:00:00.000000Z"
    assert admin(sb, "GET", "truth/plans") == sb.truth("plans")
    clock = admin(sb, "POST", "advance", {"hours": 30})
    assert clock["now"] == "2026-02-02T06:00:00.000000Z" == sb.clock()["now"]
    assert set(admin(sb, "GET", "deleted/customers")) == sb.deleted_ids("customers")
    assert admin(sb, "GET", "pending/events") == sb.pending("events")
    cfg = admin(sb, "POST", "faults", {"preset": "mild"})
    assert cfg["fault_rates"]["http_500"] > 0
    cfg = admin(sb, "POST", "faults", {"rates": {"http_503": 0.5}})
    assert cfg["fault_rates"]["http_503"] == 0.5 and cfg["fault_rates"]["http_500"] == 0
    assert admin(sb, "POST", "schema", {"mode": "rename"})["schema_mode"] == "rename"
    cfg = admin(sb, "POST", "config", {"token_lifetime_seconds": 30, "rate_limit_per_minute": 7})
    assert (cfg["token_lifetime_seconds"], cfg["rate_limit_per_minute"]) == (30, 7)
    late = admin(sb, "POST", "touch", {"resource": "refunds", "lag_seconds": 3600})
    assert late["id"] in sb.pending("refunds")
    counters = admin(sb, "GET", "counters")
    assert set(counters) >= {"requests", "rate_limited", "faults", "records_served"}
    assert admin(sb, "POST", "revoke_tokens") == {"revoked": 0}


def test_admin_rejects_bad_input(sandbox):
    sb = sandbox()
    for method, path, body in (("GET", "truth/widgets", None),
                               ("POST", "faults", {"preset": "apocalyptic"}),
                               ("POST", "faults", {"rates": {"meteor": 1}}),
                               ("POST", "schema", {"mode": "chaos"}),
                               ("POST", "advance", {"hours": -1})):
        r = requests.request(method, f"{sb.url}/_sandbox/{path}", json=body, timeout=10)
        assert r.status_code == 400, (path, r.text)
        assert r.json()["error"]["request_id"] == r.headers["X-Request-Id"]
    assert requests.get(f"{sb.url}/_sandbox/nothing", timeout=10).status_code == 404
