"""The production landing area, `s3://bucket/prefix`, against an S3 emulator (moto's server on
loopback): the real receiver lands notifications there, the tap's stream reads them back
incrementally, and S3 listing gives exactly the keys the folder reader gives."""

from __future__ import annotations

import datetime as dt
import socket
import typing as t
from collections.abc import Iterator
from pathlib import Path

import pytest

from partnerapi_sandbox import Sandbox
from partnerapi_sandbox.webhook_delivery import WebhookSender, build_notification
from partnerapi_webhooks.landing import LocalLanding, S3Landing
from partnerapi_webhooks.notification import landing_key
from partnerapi_webhooks.process import ReceiverProcess
from partnerapi_webhooks.reader import FolderReader, open_reader
from partnerapi_webhooks.s3reader import S3Reader
from tests.support.tap_fixtures import run_tap, tap_config

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

BUCKET = "partnerapi-landing"
URI = f"s3://{BUCKET}/webhooks/landing"
SECRET = "whsec_s3"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_env() -> Iterator[dict[str, str]]:
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
    try:
        yield env
    finally:
        server.stop()


@pytest.fixture
def s3(s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> t.Any:
    for key, value in s3_env.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", ()):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_receiver_lands_on_s3_and_the_tap_reads_it_incrementally(
        s3: t.Any, s3_env: dict[str, str], sandbox: t.Callable[..., Sandbox],
        tmp_path: Path) -> None:
    sb = sandbox(seed=3, scale="small", faults="off", environment="sandbox")
    records = list(sb.truth("payments").values())
    first = [build_notification("payments", "updated", r) for r in records[:6]]
    second = [build_notification("payments", "updated", r) for r in records[6:9]]
    with ReceiverProcess(tmp_path, secrets=[SECRET],
                         extra_env={"PARTNERAPI_WEBHOOK_LANDING": URI, **s3_env}) as receiver:
        sender = WebhookSender(receiver.webhook_url, [SECRET])
        report = sender.deliver_all(first, concurrency=4, duplicates=0.5, out_of_order=True)
        assert report.summary()["undelivered"] == 0
        assert not receiver.landing.exists()  # nothing went to the local default

        config = tap_config(sb, webhooks_landing=URI)
        run1 = run_tap(config, streams=["webhook_notifications"])
        assert sorted(r["notification_id"] for r in run1.records("webhook_notifications")) \
            == sorted(n["id"] for n in first)

        assert sender.deliver_all(second, concurrency=2).summary()["undelivered"] == 0
        run2 = run_tap({**config, "webhooks_lookback_minutes": 0}, state=run1.state,
                       streams=["webhook_notifications"])
    bookmark = run1.state["bookmarks"]["webhook_notifications"]["replication_key_value"]
    read = {r["notification_id"] for r in run2.records("webhook_notifications")}
    assert {n["id"] for n in second} <= read
    assert read - {n["id"] for n in second} == {
        r["notification_id"] for r in run1.records("webhook_notifications")
        if r["received_at"] == bookmark}


def test_s3_listing_gives_the_folder_readers_keys_for_any_floor(
        s3: t.Any, tmp_path: Path) -> None:
    start = dt.datetime(2026, 11, 21, 22, 58, tzinfo=dt.UTC)
    bucket, prefix = BUCKET, "webhooks/landing"
    folder, remote = LocalLanding(tmp_path), S3Landing(bucket, prefix, client=s3)
    for i in range(40):  # across an hour and a day boundary
        moment = start + dt.timedelta(minutes=3 * i, microseconds=i)
        key = landing_key("sandbox", moment, f"whk_{i:03d}")
        for landing in (folder, remote):
            landing.put(key, b'{"n": %d}\n' % i)
    s3.put_object(Bucket=bucket, Key=f"{prefix}/environment=production/date=2026-11-22/"
                  "hour=00/20261122T000000000000Z-whk_prod.json", Body=b"{}")

    local, on_s3 = FolderReader(tmp_path), open_reader(f"s3://{bucket}/{prefix}")
    assert isinstance(on_s3, S3Reader) and on_s3.exists()
    assert on_s3.list_keys("sandbox") == local.list_keys("sandbox")
    assert len(on_s3.list_keys("sandbox")) == 40
    for minutes in (0, 7, 59, 61, 62, 75, 200):
        since = start + dt.timedelta(minutes=minutes)
        for lookback in (dt.timedelta(0), dt.timedelta(minutes=10)):
            assert on_s3.list_keys("sandbox", since=since, lookback=lookback) == \
                local.list_keys("sandbox", since=since, lookback=lookback), (minutes, lookback)
    key = on_s3.list_keys("sandbox")[5]
    assert on_s3.read_text(key) == local.read_text(key) == '{"n": 5}\n'
    with pytest.raises(FileNotFoundError):
        on_s3.read_text("environment=sandbox/date=2026-11-21/hour=23/missing.json")
