"""A receiver killed between landing and answering: the vendor's retry must not duplicate.

The crash is real: the receiver runs with PARTNERAPI_WEBHOOK_TEST_CRASH_POINT and calls
os._exit at that point of the accept path, so the vendor sees a dropped connection, exactly as
with a power cut or an OOM kill. It is then restarted without the fault and the sender retries.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from partnerapi_sandbox.webhook_delivery import (
    WebhookSender,
    build_notification,
    sample_notifications,
)
from partnerapi_webhooks import reader
from partnerapi_webhooks.accept import CRASH_EXIT_CODE
from partnerapi_webhooks.dedup_store import DedupStore
from partnerapi_webhooks.process import ReceiverProcess

SECRET = ["whsec_crash"]
# Short lease so that the retry after a restart may take over the crashed delivery's claim.
LEASE = {"PARTNERAPI_WEBHOOK_CLAIM_LEASE_SECONDS": "0.2"}


def landed(workdir: Path) -> list[dict]:
    root = workdir / "landing"
    return [reader.read(root, key) for key in reader.list_keys(root, "sandbox")]


def crash_once(workdir: Path, point: str, notification: dict) -> None:
    extra = {**LEASE, "PARTNERAPI_WEBHOOK_TEST_CRASH_POINT": point}
    process = ReceiverProcess(workdir, secrets=SECRET, extra_env=extra).start()
    try:
        sender = WebhookSender(process.webhook_url, SECRET, max_attempts=1)
        result = sender.deliver(notification)
        assert result.final_status is None, "the crashed receiver must not have answered"
        assert process.wait_exit() == CRASH_EXIT_CODE
    finally:
        process.stop()


@pytest.mark.parametrize("point", ["after_landing", "after_commit"])
def test_crash_between_landing_and_answering_then_retry_lands_once(
    tmp_path: Path, point: str
) -> None:
    notification = build_notification("payments", "updated", {"id": "pay_crash", "amount": 1})
    crash_once(tmp_path, point, notification)
    before = landed(tmp_path)
    assert [d["notification_id"] for d in before] == [notification["id"]]

    with ReceiverProcess(tmp_path, secrets=SECRET, extra_env=LEASE) as process:
        sender = WebhookSender(process.webhook_url, SECRET, max_attempts=10)
        retry = sender.deliver(notification)
        assert retry.delivered
        # ...and any later retry of the same id is only a duplicate.
        assert sender.deliver(notification).delivered
        metrics = process.metrics()

    after = landed(tmp_path)
    assert len(after) == 1
    assert after == before, "the object landed before the crash is the one kept"
    assert DedupStore(tmp_path / "state.sqlite").counts() == {"landed": 1}
    if point == "after_commit":
        assert 'partnerapi_webhooks_duplicates_total{environment="sandbox"} 2' in metrics
    else:
        assert 'partnerapi_webhooks_duplicates_total{environment="sandbox"} 1' in metrics


def test_claim_without_an_object_is_taken_over_with_a_new_key(tmp_path: Path) -> None:
    """A crash after the claim but before the object was renamed into place."""
    notification = build_notification("customers", "deleted", {"id": "cus_gone"})
    store = DedupStore(tmp_path / "state.sqlite")
    orphan_key = "environment=sandbox/date=2026-01-01/hour=00/20260101T000000000000Z-x.json"
    claim = store.claim(
        "sandbox", notification["id"], orphan_key, lease_seconds=0.2, landed=lambda _k: False
    )
    assert claim.kind == "new"
    with ReceiverProcess(tmp_path, secrets=SECRET, extra_env=LEASE) as process:
        assert WebhookSender(process.webhook_url, SECRET, max_attempts=10).deliver(notification)
    docs = landed(tmp_path)
    assert [d["notification_id"] for d in docs] == [notification["id"]]
    assert docs[0]["landing_key"] != orphan_key
    assert store.counts() == {"landed": 1}


def test_a_live_claim_makes_a_concurrent_delivery_wait(tmp_path: Path) -> None:
    """Within the lease another delivery of the same id gets 409 (retry later), not a 2nd copy."""
    notification = build_notification("plans", "updated", {"id": "plan_busy"})
    store = DedupStore(tmp_path / "state.sqlite")
    store.claim("sandbox", notification["id"], "k.json", lease_seconds=60, landed=lambda _k: False)
    with ReceiverProcess(tmp_path, secrets=SECRET) as process:
        result = WebhookSender(process.webhook_url, SECRET, max_attempts=2).deliver(notification)
    assert [a.status for a in result.attempts] == [409, 409]
    assert landed(tmp_path) == []


def test_sigkill_during_a_load_then_restart_loses_nothing_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    """Killed at whatever point its 20 in-flight requests happen to be, then restarted."""
    notifications = sample_notifications(300, seed=5)
    first = ReceiverProcess(tmp_path, secrets=SECRET, extra_env=LEASE).start()
    port = int(first.url.rsplit(":", 1)[1])
    sender = WebhookSender(
        first.webhook_url, SECRET, max_attempts=40, backoff_seconds=0.05, backoff_max_seconds=0.5
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(
            sender.deliver_all, notifications, concurrency=20, duplicates=0.2, out_of_order=True
        )
        deadline = time.monotonic() + 60
        while len(landed(tmp_path)) < 60 and time.monotonic() < deadline and not future.done():
            time.sleep(0.01)
        first.kill()
        killed_with = len(landed(tmp_path))
        with ReceiverProcess(tmp_path, secrets=SECRET, extra_env=LEASE, port=port):
            report = future.result(timeout=120)
    assert 0 < killed_with < len(notifications), "the kill must hit the middle of the load"
    assert report.summary()["undelivered"] == 0
    assert any(a.status is None for r in report.results for a in r.attempts)
    ids = Counter(d["notification_id"] for d in landed(tmp_path))
    assert set(ids) == {n["id"] for n in notifications}
    assert max(ids.values()) == 1
    assert DedupStore(tmp_path / "state.sqlite").counts() == {"landed": len(notifications)}
