"""Notifications from the real sandbox's change events reach the landing area intact."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from partnerapi_sandbox import Sandbox
from partnerapi_sandbox.process import SANDBOX_BIN, SandboxProcess, loopback_env
from partnerapi_sandbox.webhook_delivery import ChangeFeed, WebhookSender
from partnerapi_sandbox.webhook_push import SECRETS_ENV, Pusher
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


def test_the_sandbox_pushes_every_change_until_acknowledged(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=5, scale="small", environment="sandbox")
    written: list[tuple[str, str]] = []
    sandbox.on_change(lambda resource, kind, record, at: written.append((resource, kind)))
    with ReceiverProcess(tmp_path / "receiver", secrets=["s"]) as receiver:
        pusher = Pusher(sandbox, receiver.webhook_url, ["s"], interval=0.05, duplicates=0.3)
        pusher.start()
        sandbox.advance(hours=1)
        sandbox.delete("customers")
        pusher.stop()  # delivers what is still queued
        metrics = receiver.metrics()
    docs = list(reader.iter_documents(receiver.landing, "sandbox"))
    assert len(written) > 10 and pusher.delivered == len(written)
    assert sorted((d["resource"], d["action"]) for d in docs) == sorted(written)
    assert "partnerapi_webhooks_duplicates_total" in metrics


def test_serve_pushes_to_a_receiver_with_secrets_from_the_environment(tmp_path: Path) -> None:
    with ReceiverProcess(tmp_path / "receiver", secrets=["whsec_cli"]) as receiver:
        missing = subprocess.run(
            [SANDBOX_BIN, "serve", "--port", "0", "--webhook-url", receiver.webhook_url],
            capture_output=True, text=True, timeout=60, env=loopback_env())
        assert missing.returncode == 2 and SECRETS_ENV in missing.stderr

        env = {**loopback_env(), SECRETS_ENV: "whsec_cli"}
        with SandboxProcess(tmp_path / "sb.log", webhook_url=receiver.webhook_url,
                            env=env) as sandbox:
            sandbox.advance(1)
            deadline = time.monotonic() + 30
            while not reader.list_keys(receiver.landing, "sandbox"):
                assert time.monotonic() < deadline, (tmp_path / "sb.log").read_text()[-2000:]
                time.sleep(0.2)
    assert "whsec_cli" not in (tmp_path / "sb.log").read_text()
