"""production vs sandbox: same seed, a share of ids in both, with different contents."""

from __future__ import annotations

from partnerapi_sandbox.store import RESOURCES


def test_ids_collide_across_environments_with_different_contents(sandbox):
    prod = sandbox(seed=31, environment="production", start_time="2026-05-01T00:00:00Z")
    test = sandbox(seed=31, environment="sandbox", start_time="2026-05-01T00:00:00Z")
    for resource in RESOURCES:
        p, s = prod.truth(resource), test.truth(resource)
        shared = set(p) & set(s)
        assert 0.1 < len(shared) / len(p) < 0.5, resource
        assert set(p) != set(s)
        differing = [i for i in shared if p[i] != s[i]]
        assert len(differing) > 0.9 * len(shared), resource
    assert prod.config()["environment"] == "production"


def test_environment_is_deterministic(sandbox):
    a = sandbox(seed=32, environment="production", start_time="2026-05-01T00:00:00Z")
    b = sandbox(seed=32, environment="production", start_time="2026-05-01T00:00:00Z")
    assert a.truth("customers") == b.truth("customers")
