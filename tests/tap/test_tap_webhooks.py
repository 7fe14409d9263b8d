"""The `webhook_notifications` stream reads what the real receiver landed from the sandbox's
signed sender: once per notification, incrementally with a lookback, with the same version
hash as the polled copy of a record, and never dropping a file it cannot read."""

from __future__ import annotations

import json
import typing as t
from collections.abc import Iterator
from pathlib import Path

import pytest

from partnerapi_sandbox import Sandbox
from partnerapi_sandbox.webhook_delivery import ChangeFeed, WebhookSender, build_notification
from partnerapi_webhooks import reader
from partnerapi_webhooks.notification import landing_key
from partnerapi_webhooks.process import ReceiverProcess
from tests.support.tap_fixtures import run_tap, tap_config

STREAM = "webhook_notifications"
SECRET = "whsec_test"


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[ReceiverProcess]:
    with ReceiverProcess(tmp_path / "receiver", secrets=[SECRET]) as process:
        yield process


@pytest.fixture
def world(sandbox: t.Callable[..., Sandbox]) -> tuple[Sandbox, ChangeFeed]:
    sb = sandbox(seed=11, scale="small", faults="off", environment="sandbox")
    return sb, ChangeFeed(seed=11).attach(sb)


def deliver(receiver: ReceiverProcess, notifications: list[dict], **kwargs: t.Any) -> None:
    report = WebhookSender(receiver.webhook_url, [SECRET]).deliver_all(
        notifications, concurrency=4, **kwargs)
    assert report.summary()["undelivered"] == 0


def read(receiver: ReceiverProcess, sb: Sandbox, *, state: dict | None = None,
         streams: tuple[str, ...] = (STREAM,), **config: t.Any) -> t.Any:
    return run_tap(tap_config(sb, webhooks_landing=str(receiver.landing), **config),
                   state=state, streams=streams)


def test_each_landed_notification_is_one_record_hashed_like_its_polled_version(
        world: tuple[Sandbox, ChangeFeed], receiver: ReceiverProcess) -> None:
    sb, feed = world
    paid = sb.touch("payments")  # visible at once: the poll below sees the same version
    sb.advance(minutes=20)
    notifications = feed.drain()
    deliver(receiver, notifications, duplicates=0.5, out_of_order=True)

    run = read(receiver, sb, streams=(STREAM, "payments"))
    rows = run.records(STREAM)
    assert sorted(r["notification_id"] for r in rows) == sorted(n["id"] for n in notifications)

    pushed = next(r for r in rows if r["resource"] == "payments"
                  and r["object_id"] == paid["id"] and r["_pa_raw"]["updated_at"]
                  == paid["updated_at"])
    polled = {(r["id"], r["updated_at"]): r for r in run.records("payments")}
    assert pushed["_pa_version"] == polled[(paid["id"], paid["updated_at"])]["_pa_version"]
    assert pushed["_pa_request_id"] == f"webhook:{pushed['notification_id']}"
    assert pushed["_pa_extracted_at"] == pushed["received_at"]
    assert pushed["object_conforms"] is True and pushed["object_issue"] is None
    assert pushed["environment"] == "sandbox"
    assert json.loads(pushed["raw_body"])["data"]["object"] == pushed["_pa_raw"]

    key_props = next(m for m in run.messages if m["type"] == "SCHEMA"
                     and m["stream"] == STREAM)["key_properties"]
    assert key_props == ["environment", "notification_id"]


def test_incremental_runs_read_after_the_bookmark_minus_the_lookback(
        world: tuple[Sandbox, ChangeFeed], receiver: ReceiverProcess) -> None:
    sb, _ = world
    records = list(sb.truth("customers").values())
    first = [build_notification("customers", "updated", r) for r in records[:5]]
    second = [build_notification("customers", "updated", r) for r in records[5:8]]
    deliver(receiver, first)
    run1 = read(receiver, sb)
    assert len(run1.records(STREAM)) == 5
    state = run1.state
    bookmark = state["bookmarks"][STREAM]["replication_key_value"]
    assert bookmark == max(r["received_at"] for r in run1.records(STREAM))

    deliver(receiver, second)
    without_lookback = read(receiver, sb, state=state, webhooks_lookback_minutes=0)
    # The bookmark row itself is re-read (>=); everything before it is skipped.
    assert {r["notification_id"] for r in without_lookback.records(STREAM)} == \
        {n["id"] for n in second} | {r["notification_id"] for r in run1.records(STREAM)
                                     if r["received_at"] == bookmark}
    # The default 10 minutes reach back over the first batch, landed seconds ago.
    with_lookback = read(receiver, sb, state=state)
    assert len(with_lookback.records(STREAM)) == 8


def test_a_file_renamed_into_place_behind_the_bookmark_is_caught_by_the_lookback(
        world: tuple[Sandbox, ChangeFeed], receiver: ReceiverProcess) -> None:
    sb, _ = world
    record = next(iter(sb.truth("plans").values()))
    deliver(receiver, [build_notification("plans", "updated", record)])
    run1 = read(receiver, sb)
    [landed] = run1.records(STREAM)

    # A slower request of a notification received 2 minutes *earlier* finishes its rename
    # only now: its key sorts before the bookmark.
    late_id = "whk_latecomer"
    early = _shifted_copy(receiver.landing, landed["landing_key"], late_id, minutes=-2)
    run2 = read(receiver, sb, state=run1.state)
    assert late_id in {r["notification_id"] for r in run2.records(STREAM)}
    run3 = read(receiver, sb, state=run1.state, webhooks_lookback_minutes=1)
    assert late_id not in {r["notification_id"] for r in run3.records(STREAM)}, early


def test_unreadable_and_in_progress_files_are_never_dropped_silently(
        world: tuple[Sandbox, ChangeFeed], receiver: ReceiverProcess) -> None:
    sb, _ = world
    record = next(iter(sb.truth("customers").values()))
    deliver(receiver, [build_notification("customers", "updated", record)])
    [key] = reader.list_keys(receiver.landing, "sandbox")
    folder = (receiver.landing / key).parent
    (folder / ".tmp-123-whk_inflight.json").write_text("{half")  # a write in progress
    (folder / "notes.txt").write_text("not a document")
    corrupt = folder / (Path(key).name[:22] + "-whk_corrupt.json")
    corrupt.write_text("{not json")
    tampered = json.loads((receiver.landing / key).read_text())
    tampered.update(notification_id="whk_tampered", raw_body=tampered["raw_body"] + " ")
    (folder / (Path(key).name[:22] + "-whk_tampered.json")).write_text(json.dumps(tampered))

    run = read(receiver, sb, streams=(STREAM, "quarantine"))
    assert [r["notification_id"] for r in run.records(STREAM)] == [record_id(key)]
    held = {Path(r["record_id"]).name.split("-", 1)[1]: r for r in run.records("quarantine")}
    assert set(held) == {"whk_corrupt.json", "whk_tampered.json"}
    assert {r["stream"] for r in held.values()} == {STREAM}
    assert held["whk_corrupt.json"]["_pa_raw"]["text"] == "{not json"
    assert "body_sha256" in held["whk_tampered.json"]["reason"]
    assert run.tap is not None and run.tap.quarantined_total == 2


def test_a_pushed_object_missing_a_documented_field_is_kept_but_marked(
        world: tuple[Sandbox, ChangeFeed], receiver: ReceiverProcess) -> None:
    sb, _ = world
    renamed = dict(next(iter(sb.truth("payments").values())))
    renamed["amount_minor"] = renamed.pop("amount")  # the vendor renames a field
    unknown = build_notification("payments", "updated", {"id": "pay_x"})
    unknown["type"] = "payouts.updated"
    deliver(receiver, [build_notification("payments", "updated", renamed), unknown])

    rows = {r["type"]: r for r in read(receiver, sb).records(STREAM)}
    assert rows["payments.updated"]["object_conforms"] is False
    assert "amount" in rows["payments.updated"]["object_issue"]
    assert rows["payments.updated"]["_pa_raw"] == renamed
    assert rows["payouts.updated"]["object_conforms"] is None


def test_only_the_taps_environment_is_read_and_no_landing_means_no_rows(
        world: tuple[Sandbox, ChangeFeed], receiver: ReceiverProcess, tmp_path: Path) -> None:
    sb, _ = world
    record = next(iter(sb.truth("customers").values()))
    deliver(receiver, [build_notification("customers", "deleted", record)])
    [key] = reader.list_keys(receiver.landing, "sandbox")
    other = receiver.landing / key.replace("environment=sandbox", "environment=production")
    other.parent.mkdir(parents=True)
    other.write_text((receiver.landing / key).read_text().replace('"sandbox"', '"production"'))

    assert len(read(receiver, sb).records(STREAM)) == 1
    nothing = run_tap(tap_config(sb), streams=(STREAM,))
    assert nothing.records(STREAM) == []
    missing = run_tap(tap_config(sb, webhooks_landing=str(tmp_path / "absent")),
                      streams=(STREAM,))
    assert missing.records(STREAM) == []


def record_id(key: str) -> str:
    return Path(key).name.split("-", 1)[1].removesuffix(".json")


def _shifted_copy(landing: Path, key: str, new_id: str, *, minutes: int) -> str:
    """A document as the receiver would have landed it ``minutes`` earlier, under ``new_id``."""
    import datetime as dt
    import hashlib

    doc = json.loads((landing / key).read_text())
    moment = dt.datetime.strptime(doc["received_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=dt.UTC) + dt.timedelta(minutes=minutes)
    body = json.loads(doc["raw_body"])
    body["id"] = new_id
    raw_body = json.dumps(body, separators=(",", ":"))
    doc.update(notification_id=new_id, raw_body=raw_body,
               body_sha256=hashlib.sha256(raw_body.encode()).hexdigest(),
               received_at=moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    new_key = landing_key("sandbox", moment, new_id)
    doc["landing_key"] = new_key
    path = landing / new_key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return new_key
