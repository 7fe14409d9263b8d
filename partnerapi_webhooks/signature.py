"""`Partner-Signature` verification: HMAC-SHA256 over ``"<t>." + raw body``.

Pure functions, no I/O, so the receiver and its tests share exactly one implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

HEADER = "Partner-Signature"
SCHEME = "v1"
# ASCII digits only, and few of them: str.isdigit() also accepts '²' or '٣' (int() then raises
# and the request became a 503 with a traceback), and int() refuses more than 4300 digits.
# Ten or eleven digits cover every Unix time until the year 5138.
_TIMESTAMP_RE = re.compile(r"[0-9]{1,11}")


class SignatureError(Exception):
    """The request cannot be authenticated; ``reason`` is a stable, metric-friendly code."""

    def __init__(self, reason: str, status: int, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ParsedSignature:
    timestamp: int
    signatures: tuple[str, ...]


def parse_header(value: str | None) -> ParsedSignature:
    """Parse ``t=<unix>,v1=<hex>[,v1=<hex>...]``; unknown schemes (e.g. ``v0``) are ignored."""
    if not value:
        raise SignatureError("missing_signature", 401, f"{HEADER} header is missing")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in value.split(","):
        key, sep, item = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            if timestamp is not None or not _TIMESTAMP_RE.fullmatch(item):
                raise SignatureError("malformed_signature", 401, "bad or repeated t= in signature")
            timestamp = int(item)
        elif key == SCHEME:
            signatures.append(item.strip().lower())
    if timestamp is None:
        raise SignatureError("malformed_signature", 401, "signature has no t= timestamp")
    if not signatures:
        raise SignatureError("malformed_signature", 401, "signature has no v1= value")
    return ParsedSignature(timestamp, tuple(signatures))


def compute(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def verify(
    header: str | None,
    body: bytes,
    secrets: Sequence[str],
    *,
    now: float,
    tolerance_seconds: int = 300,
    future_tolerance_seconds: int = 60,
) -> int:
    """Return the signed timestamp, or raise :class:`SignatureError`.

    The signature is checked before the timestamp so that an unauthenticated caller learns
    nothing about our clock window. Every (secret, v1) pair is compared in constant time and
    the loop never exits early, so timing does not reveal which secret matched.
    """
    parsed = parse_header(header)
    matched = False
    for secret in secrets:
        expected = compute(secret, parsed.timestamp, body)
        for candidate in parsed.signatures:
            # compare_digest on bytes: a non-hex or wrong-length candidate simply fails.
            matched |= hmac.compare_digest(expected.encode("ascii"), candidate.encode("utf-8"))
    if not matched:
        raise SignatureError("signature_mismatch", 401, "no v1 signature matches a current secret")
    age = now - parsed.timestamp
    if age > tolerance_seconds:
        raise SignatureError(
            "timestamp_too_old", 400, f"signature timestamp is {int(age)}s old (replay?)"
        )
    if -age > future_tolerance_seconds:
        raise SignatureError(
            "timestamp_in_future", 400, f"signature timestamp is {int(-age)}s in the future"
        )
    return parsed.timestamp
