"""The landing area's write side (atomic, idempotent by key) and read side (order, lookback)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from partnerapi_sandbox.webhook_delivery import build_notification, encode
from partnerapi_webhooks import reader
from partnerapi_webhooks.landing import LocalLanding, landing_from_uri
from partnerapi_webhooks.notification import build_document, landing_key, parse


def land(landing: LocalLanding, at: datetime, notification_id: str) -> str:
    body = encode(
        build_notification("payments", "updated", {"id": "pay_1"}, notification_id=notification_id)
    )
    key = landing_key("production", at, notification_id)
    document = build_document(
        parse(body),
        environment="production",
        body=body,
        received_at=at,
        signature_timestamp=int(at.timestamp()),
        key=key,
    )
    landing.put(key, document)
    return key


def test_put_is_idempotent_by_key_and_leaves_no_temp_files(tmp_path: Path) -> None:
    landing = LocalLanding(tmp_path)
    at = datetime(2026, 11, 21, 9, 14, 3, 123456, tzinfo=UTC)
    key = land(landing, at, "whk_a")
    assert key == (
        "environment=production/date=2026-11-21/hour=09/20261121T091403123456Z-whk_a.json"
    )
    assert land(landing, at, "whk_a") == key
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p.relative_to(tmp_path).as_posix() for p in files] == [key]
    assert landing.exists(key)
    landing.delete(key)
    landing.delete(key)  # a missing key is not an error
    assert not landing.exists(key)


def test_keys_cannot_escape_the_landing_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        LocalLanding(tmp_path / "root").put("../outside.json", b"{}")


def test_landing_from_uri_picks_a_local_folder(tmp_path: Path) -> None:
    assert isinstance(landing_from_uri(str(tmp_path / "x")), LocalLanding)


def test_reader_lists_in_received_order_with_a_lookback_and_skips_temp_files(
    tmp_path: Path,
) -> None:
    landing = LocalLanding(tmp_path)
    base = datetime(2026, 11, 21, 23, 50, tzinfo=UTC)
    # Out of order on purpose, across an hour and a date boundary.
    offsets = {"whk_c": 30, "whk_a": 0, "whk_d": 45, "whk_b": 12}
    for notification_id, minutes in offsets.items():
        land(landing, base + timedelta(minutes=minutes), notification_id)
    (tmp_path / "environment=production/date=2026-11-22/hour=00/.tmp-x.json.1").write_text("{")
    ids = [
        reader.read(tmp_path, k)["notification_id"]
        for k in reader.list_keys(tmp_path, "production")
    ]
    assert ids == ["whk_a", "whk_b", "whk_c", "whk_d"]

    bookmark = base + timedelta(minutes=40)
    since = reader.list_keys(tmp_path, "production", since=bookmark, lookback=timedelta(minutes=15))
    assert [k.rsplit("-", 1)[1] for k in since] == ["whk_c.json", "whk_d.json"]
    assert reader.list_keys(tmp_path, "sandbox") == []
