"""Partner-Signature: the sandbox sender's signing against the receiver's verification."""

from __future__ import annotations

import time

import pytest

from partnerapi_sandbox.webhook_delivery import build_notification, encode, sign
from partnerapi_webhooks.signature import SignatureError, parse_header, verify

BODY = encode(build_notification("payments", "updated", {"id": "pay_1", "amount": 5}))


def _verify(header: str | None, secrets: list[str], body: bytes = BODY, now: float | None = None):
    return verify(header, body, secrets, now=time.time() if now is None else now)


def _reason(header: str | None, secrets: list[str], body: bytes = BODY, **kw) -> tuple[str, int]:
    with pytest.raises(SignatureError) as info:
        _verify(header, secrets, body, **kw)
    return info.value.reason, info.value.status


def test_valid_signature_returns_its_timestamp() -> None:
    t = int(time.time())
    assert _verify(sign(BODY, ["whsec_a"], t), ["whsec_a"]) == t


def test_header_carries_one_v1_per_secret_in_order() -> None:
    parsed = parse_header(sign(BODY, ["a", "b"], 1_700_000_000))
    assert parsed.timestamp == 1_700_000_000
    assert len(parsed.signatures) == 2
    assert parsed.signatures[0] != parsed.signatures[1]


@pytest.mark.parametrize(
    ("sender_secrets", "receiver_secrets"),
    [
        (["new", "old"], ["new"]),  # vendor mid-rotation, we already moved on
        (["new", "old"], ["old"]),  # vendor mid-rotation, we have not switched yet
        (["old"], ["new", "old"]),  # we rotate first: both accepted
        (["new"], ["new", "old"]),
    ],
)
def test_rotation_any_secret_matching_any_v1_is_accepted(
    sender_secrets: list[str], receiver_secrets: list[str]
) -> None:
    t = int(time.time())
    assert _verify(sign(BODY, sender_secrets, t), receiver_secrets) == t


def test_tampered_body_is_a_mismatch() -> None:
    header = sign(BODY, ["s"], int(time.time()))
    assert _reason(header, ["s"], BODY.replace(b'"amount":5', b'"amount":6')) == (
        "signature_mismatch",
        401,
    )


def test_wrong_secret_is_a_mismatch() -> None:
    assert _reason(sign(BODY, ["other"], int(time.time())), ["s"]) == ("signature_mismatch", 401)


def test_signature_is_over_t_dot_body_so_a_changed_t_fails() -> None:
    t = int(time.time())
    header = sign(BODY, ["s"], t).replace(f"t={t}", f"t={t - 1}")
    assert _reason(header, ["s"]) == ("signature_mismatch", 401)


def test_stale_and_future_timestamps_are_rejected_after_the_signature_checks() -> None:
    now = time.time()
    stale = sign(BODY, ["s"], int(now) - 301)
    future = sign(BODY, ["s"], int(now) + 120)
    assert _reason(stale, ["s"], now=now) == ("timestamp_too_old", 400)
    assert _reason(future, ["s"], now=now) == ("timestamp_in_future", 400)
    # Within the window on both sides.
    assert _verify(sign(BODY, ["s"], int(now) - 299), ["s"], now=now)
    assert _verify(sign(BODY, ["s"], int(now) + 30), ["s"], now=now)
    # A forged stale request learns nothing about the clock window.
    assert _reason(sign(BODY, ["x"], int(now) - 3600), ["s"], now=now)[0] == "signature_mismatch"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing_signature"),
        ("", "missing_signature"),
        ("v1=abcd", "malformed_signature"),
        ("t=123", "malformed_signature"),
        ("t=abc,v1=abcd", "malformed_signature"),
        ("t=1,t=2,v1=abcd", "malformed_signature"),
        ("garbage", "malformed_signature"),
    ],
)
def test_missing_or_malformed_headers(header: str | None, reason: str) -> None:
    assert _reason(header, ["s"]) == (reason, 401)


def test_non_hex_and_unknown_schemes_do_not_crash_and_do_not_match() -> None:
    t = int(time.time())
    good = sign(BODY, ["s"], t).split(",")[1]
    assert _reason(f"t={t},v1=zz-not-hex-é", ["s"])[0] == "signature_mismatch"
    # v0 (unknown scheme) is ignored; the v1 beside it still counts.
    assert _verify(f"t={t},v0=deadbeef, {good}", ["s"]) == t
