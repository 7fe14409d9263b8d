"""A bounded load on loopback: zero lost, zero duplicated (the 5,000-delivery run is in bench/)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from partnerapi_sandbox.webhook_delivery import WebhookSender, sample_notifications
from partnerapi_webhooks import reader
from partnerapi_webhooks.process import ReceiverProcess


def test_concurrent_deliveries_with_duplicates_out_of_order_land_exactly_once(
    tmp_path: Path,
) -> None:
    notifications = sample_notifications(400, seed=3)
    with ReceiverProcess(tmp_path, secrets=["s_new", "s_old"]) as process:
        sender = WebhookSender(process.webhook_url, ["s_old"], seed=3)
        report = sender.deliver_all(
            notifications,
            concurrency=20,
            duplicates=0.25,
            out_of_order=True,
            bad_signature=0.05,
            seed=3,
        )
        metrics = process.metrics()
    summary = report.summary()
    print("webhooks load (suite variant):", summary)
    assert summary["undelivered"] == 0
    assert summary["forged_accepted"] == 0
    landed = Counter(
        reader.read(process.landing, key)["notification_id"]
        for key in reader.list_keys(process.landing, "sandbox")
    )
    assert set(landed) == {n["id"] for n in notifications}, "lost or foreign notifications"
    assert max(landed.values()) == 1, "a notification landed twice"
    extra = sum(1 for r in report.results if r.kind == "duplicate")
    assert extra > 0
    assert f'partnerapi_webhooks_duplicates_total{{environment="sandbox"}} {extra}' in metrics
