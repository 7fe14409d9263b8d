"""Pacing: the tap keeps to its own budget and, as the only client left, causes no 429.

One test, about a minute long by nature: proving a per-minute budget means waiting one out.
"""

from __future__ import annotations

import time

import requests

from tap_partnerapi.pacing import WINDOW_SECONDS
from tap_partnerapi.tap import TapPartnerAPI
from tests.support.tap_fixtures import CapturingWriter, tap_config

SERVER_LIMIT = 20
BUDGET = 10


def _max_in_window(times: list[float], window: float) -> int:
    return max(sum(1 for u in times if t <= u < t + window) for t in times)


def test_budget_kept_and_no_429_with_another_client_on_the_key(sandbox):
    sb = sandbox(seed=4, rate_limit_per_minute=SERVER_LIMIT)
    # Another process on the same client_id spends 12 of the window's 20 requests...
    token = requests.post(f"{sb.url}/oauth/token", timeout=5, data={
        "grant_type": "client_credentials", "client_id": "demo-client",
        "client_secret": "demo-secret"}).json()["access_token"]
    for _ in range(11):
        requests.get(f"{sb.url}/v1/plans", params={"page_size": 1}, timeout=5,
                     headers={"Authorization": f"Bearer {token}"}).raise_for_status()
    sb.advance(seconds=45)  # ...and the window refills in ~15 s (vendor's clock).

    tap = TapPartnerAPI(config=tap_config(sb, page_size=60, requests_per_minute=BUDGET),
                        message_writer=CapturingWriter())
    sent: list[float] = []
    sessions = [tap.authenticator.token_session, tap.streams["invoices"].requests_session]
    for session in sessions:
        session.hooks["response"].append(lambda r, *a, **k: sent.append(time.monotonic()))
    records = list(tap.streams["invoices"].get_records(None))

    assert len({r["id"] for r in records}) == len(sb.truth("invoices"))
    assert len(sent) > BUDGET  # the budget had to bind
    assert _max_in_window(sent, 60.0) <= BUDGET
    assert sb.counters()["rate_limited"] == 0
    assert tap.stats_for("invoices").rate_limit_wait_seconds > 0
    assert WINDOW_SECONDS >= 60
