"""The receiver as a real uvicorn process, driven by the sandbox's signed sender."""

from __future__ import annotations

import http.client
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from partnerapi_sandbox.webhook_delivery import (
    WebhookSender,
    build_notification,
    encode,
    sample_notifications,
    sign,
)
from partnerapi_webhooks import reader
from partnerapi_webhooks.process import ReceiverProcess

SECRETS = ["whsec_new", "whsec_old"]
MAX_BODY = 4096


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverProcess]:
    workdir = tmp_path_factory.mktemp("webhooks")
    extra = {"PARTNERAPI_WEBHOOK_MAX_BODY_BYTES": str(MAX_BODY)}
    with ReceiverProcess(workdir, secrets=SECRETS, extra_env=extra) as process:
        yield process


def landed_ids(receiver: ReceiverProcess) -> Counter[str]:
    return Counter(
        reader.read(receiver.landing, key)["notification_id"]
        for key in reader.list_keys(receiver.landing, "sandbox")
    )


def metric(receiver: ReceiverProcess, name: str, **labels: str) -> float:
    want = {"environment": "sandbox", **labels}
    total = 0.0
    for line in receiver.metrics().splitlines():
        match = re.match(rf"partnerapi_webhooks_{name}\{{(.*)\}} (\S+)$", line)
        if match:
            got = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
            if all(got.get(k) == v for k, v in want.items()):
                total += float(match.group(2))
    return total


def post_raw(receiver: ReceiverProcess, body: bytes, header: str | None) -> tuple[int, dict]:
    return _post(receiver, body, {} if header is None else {"Partner-Signature": header})


def _post(receiver: ReceiverProcess, body, headers: dict[str, str], **kw) -> tuple[int, dict]:
    host, port = receiver.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("POST", "/webhooks/partnerapi", body=body, headers=headers, **kw)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def test_health(receiver: ReceiverProcess) -> None:
    assert receiver.health() == {"status": "ok", "environment": "sandbox"}


def test_every_valid_notification_lands_exactly_once_with_its_raw_body(
    receiver: ReceiverProcess,
) -> None:
    notifications = sample_notifications(60, seed=11)
    sender = WebhookSender(receiver.webhook_url, SECRETS, seed=1)
    report = sender.deliver_all(notifications, concurrency=8, duplicates=0.5, out_of_order=True)
    assert report.summary()["undelivered"] == 0
    landed = landed_ids(receiver)
    for notification in notifications:
        assert landed[notification["id"]] == 1
    by_id = {
        doc["notification_id"]: doc for doc in reader.iter_documents(receiver.landing, "sandbox")
    }
    for notification in notifications:
        doc = by_id[notification["id"]]
        assert doc["raw_body"].encode() == encode(notification)
        assert doc["type"] == notification["type"]
        assert doc["environment"] == "sandbox"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", doc["received_at"])
        assert doc["landing_key"].startswith(f"environment=sandbox/date={doc['received_at'][:10]}/")
    assert not [p for p in Path(receiver.landing).rglob(".tmp-*")]


def test_duplicate_is_acknowledged_and_not_landed_again(receiver: ReceiverProcess) -> None:
    notification = build_notification("customers", "deleted", {"id": "cus_dup"})
    sender = WebhookSender(receiver.webhook_url, SECRETS)
    before = metric(receiver, "duplicates_total")
    first = post_raw(
        receiver, encode(notification), sign(encode(notification), SECRETS, int(time.time()))
    )
    again = post_raw(
        receiver, encode(notification), sign(encode(notification), SECRETS, int(time.time()))
    )
    assert first == (200, {"status": "accepted", "id": notification["id"]})
    assert again == (200, {"status": "duplicate", "id": notification["id"]})
    assert sender.deliver(notification).final_status == 200
    assert landed_ids(receiver)[notification["id"]] == 1
    assert metric(receiver, "duplicates_total") == before + 2


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        ("stale", 400, "timestamp_too_old"),
        ("future", 400, "timestamp_in_future"),
        ("bad_signature", 401, "signature_mismatch"),
    ],
)
def test_forged_and_replayed_deliveries_are_rejected_and_not_landed(
    receiver: ReceiverProcess, kind: str, status: int, reason: str
) -> None:
    notification = build_notification("payments", "updated", {"id": f"pay_{kind}"})
    before = metric(receiver, "rejected_total", reason=reason)
    result = WebhookSender(receiver.webhook_url, SECRETS).deliver(notification, kind=kind)
    assert [a.status for a in result.attempts] == [status]
    assert landed_ids(receiver)[notification["id"]] == 0
    assert metric(receiver, "rejected_total", reason=reason) == before + 1


def test_missing_signature_is_401(receiver: ReceiverProcess) -> None:
    status, body = post_raw(receiver, encode(build_notification("plans", "created", {})), None)
    assert (status, body["reason"]) == (401, "missing_signature")


@pytest.mark.parametrize(
    "sender_secrets", [["whsec_new"], ["whsec_old"], ["whsec_new", "whsec_old"]]
)
def test_rotation_with_two_configured_secrets(
    receiver: ReceiverProcess, sender_secrets: list[str]
) -> None:
    notification = build_notification("plans", "updated", {"id": "plan_rot"})
    result = WebhookSender(receiver.webhook_url, sender_secrets).deliver(notification)
    assert result.final_status == 200
    assert landed_ids(receiver)[notification["id"]] == 1


def test_a_retired_secret_is_refused(receiver: ReceiverProcess) -> None:
    notification = build_notification("plans", "updated", {"id": "plan_retired"})
    body = encode(notification)
    status, answer = post_raw(receiver, body, sign(body, ["whsec_retired"], int(time.time())))
    assert (status, answer["reason"]) == (401, "signature_mismatch")


def test_oversized_body_is_413_by_length_and_when_chunked(receiver: ReceiverProcess) -> None:
    record = {"id": "pay_big", "blob": "x" * MAX_BODY}
    body = encode(build_notification("payments", "updated", record, notification_id="whk_big"))
    header = sign(body, SECRETS, int(time.time()))
    status, answer = post_raw(receiver, body, header)
    assert (status, answer["reason"]) == (413, "body_too_large")
    chunks = (body[i : i + 1000] for i in range(0, len(body), 1000))
    status, answer = _post(
        receiver,
        chunks,
        {"Partner-Signature": header, "Transfer-Encoding": "chunked"},
        encode_chunked=True,
    )
    assert (status, answer["reason"]) == (413, "body_too_large")
    assert landed_ids(receiver)["whk_big"] == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"id": "whk_x", "type": ', "malformed_json"),
        (b"\xff\xfe not utf-8", "malformed_json"),
        (b"[1, 2]", "invalid_notification"),
        (
            b'{"id": "../../etc", "type": "payments.updated", "data": {"object": {}}}',
            "invalid_notification",
        ),
        (b'{"id": "whk_1", "type": "payments", "data": {"object": {}}}', "invalid_notification"),
        (b'{"id": "whk_1", "type": "payments.updated", "data": {}}', "invalid_notification"),
    ],
)
def test_signed_but_malformed_bodies_are_400(
    receiver: ReceiverProcess, body: bytes, reason: str
) -> None:
    status, answer = post_raw(receiver, body, sign(body, SECRETS, int(time.time())))
    assert (status, answer["reason"]) == (400, reason)


def test_metrics_are_prometheus_text(receiver: ReceiverProcess) -> None:
    before = metric(receiver, "accepted_total", type="refunds.created")
    notification = build_notification("refunds", "created", {"id": "re_metrics"})
    assert WebhookSender(receiver.webhook_url, SECRETS).deliver(notification).delivered
    assert metric(receiver, "accepted_total", type="refunds.created") == before + 1
    text = receiver.metrics()
    assert "# TYPE partnerapi_webhooks_accepted_total counter" in text
    assert "# TYPE partnerapi_webhooks_request_duration_seconds histogram" in text
    assert metric(receiver, "request_duration_seconds_count") >= metric(receiver, "accepted_total")


def test_dedup_survives_a_restart(tmp_path: Path) -> None:
    notification = build_notification("payments", "updated", {"id": "pay_restart"})
    with ReceiverProcess(tmp_path, secrets=["s"]) as first:
        assert WebhookSender(first.webhook_url, ["s"]).deliver(notification).final_status == 200
    with ReceiverProcess(tmp_path, secrets=["s"]) as second:
        body = encode(notification)
        status, answer = post_raw(second, body, sign(body, ["s"], int(time.time())))
        assert (status, answer["status"]) == (200, "duplicate")
        assert landed_ids(second)[notification["id"]] == 1


@pytest.mark.parametrize(
    "stamp",
    [
        "²",  # str.isdigit() says yes, int() says no: was a 503 with a traceback
        "1²3",
        "\u0661\u0667\u0660\u0660",  # Arabic-Indic digits (sent as UTF-8 bytes)
        "\uff11\uff17\uff10\uff10",  # full-width digits
        "9" * 5000,  # int() refuses > 4300 digits
        "+1700000000",
        "-1",
        " 1700000000x",
        "1_700_000_000",
    ],
)
def test_unauthenticated_malformed_timestamps_are_401_never_an_error(
    receiver: ReceiverProcess, stamp: str
) -> None:
    body = encode(build_notification("plans", "created", {"id": "plan_stamp"}))
    errors = metric(receiver, "errors_total")
    log_before = receiver.log_path.read_text()
    # HTTP header bytes are read as latin-1 ('²' is one byte there); other digits as UTF-8 bytes.
    text = f"t={stamp},v1=00"
    header = text.encode("latin-1") if max(text) <= "\xff" else text.encode()
    status, answer = _post(receiver, body, {"Partner-Signature": header})  # type: ignore[dict-item]
    assert (status, answer["reason"]) == (401, "malformed_signature")
    assert metric(receiver, "errors_total") == errors, "anyone could raise false alarms"
    new_log = receiver.log_path.read_text()[len(log_before) :]
    assert "ERROR" not in new_log and "Traceback" not in new_log


@pytest.mark.parametrize("suffix", ["\n", "\r\n", "\n\n", " ", "\t"])
def test_ids_must_match_their_pattern_in_full(receiver: ReceiverProcess, suffix: str) -> None:
    """`$` matches before a trailing newline: 'whk_nl\\n' passed and landed as its own key."""
    before = set(reader.list_keys(receiver.landing, "sandbox"))
    notification = build_notification(
        "plans", "updated", {"id": "plan_nl"}, notification_id=f"whk_nl{suffix}"
    )
    body = encode(notification)
    status, answer = post_raw(receiver, body, sign(body, SECRETS, int(time.time())))
    assert (status, answer["reason"]) == (400, "invalid_notification")
    assert set(reader.list_keys(receiver.landing, "sandbox")) == before


def test_types_must_match_their_pattern_in_full(receiver: ReceiverProcess) -> None:
    body = json.dumps(
        {"id": "whk_type_nl", "type": "plans.updated\n", "data": {"object": {"id": "plan_t"}}}
    ).encode()
    status, answer = post_raw(receiver, body, sign(body, SECRETS, int(time.time())))
    assert (status, answer["reason"]) == (400, "invalid_notification")
    assert landed_ids(receiver)["whk_type_nl"] == 0
