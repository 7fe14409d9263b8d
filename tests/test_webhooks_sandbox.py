"""Notifications from the real sandbox's change events reach the landing area intact."""

from __future__ import annotations

import json
from pathlib import Path

from partner_sandbox import Sandbox
from partner_sandbox.webhooks import ChangeFeed, WebhookSender
from partnerapi_webhooks import reader
from partnerapi_webhooks.process import ReceiverProcess


def test_sandbox_changes_are_delivered_and_landed_with_the_vendor_record(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=7, scale="small", environment="sandbox")
    feed = ChangeFeed(seed=7).attach(sandbox)
    touched = [sandbox.touch("payments")["id"], sandbox.touch("customers")["id"]]
    # touch() with no lag is visible at once: this is the version its notification carries.
    written = {
        (resource, rid): sandbox.truth(resource)[rid]
        for resource, rid in zip(("payments", "customers"), touched, strict=True)
    }
    sandbox.advance(minutes=30)
    notifications = feed.drain()
    assert {n["data"]["object"].get("id") for n in notifications} >= set(touched)
    assert feed.drain() == []

    with ReceiverProcess(tmp_path, secrets=["s"]) as process:
        report = WebhookSender(process.webhook_url, ["s"]).deliver_all(
            notifications, concurrency=4, duplicates=0.3, out_of_order=True
        )
    assert report.summary()["undelivered"] == 0
    docs = list(reader.iter_documents(process.landing, "sandbox"))
    assert sorted(d["notification_id"] for d in docs) == sorted(n["id"] for n in notifications)

    landed: dict[tuple[str, str], list[dict]] = {}
    for doc in docs:
        body = json.loads(doc["raw_body"])
        landed.setdefault((doc["resource"], doc["object_id"]), []).append(body["data"]["object"])
    for key, record in written.items():
        assert record in landed[key]
