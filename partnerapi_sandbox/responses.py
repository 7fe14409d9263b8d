"""What a handler sends back, including the misbehaviours the HTTP layer must act out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay: float = 0.0  # seconds to wait before answering (slow answers, timeouts)
    hang_up: bool = False  # after `delay`, close without answering
    truncate: bool = False  # announce the full length, send half, close


def json_response(status: int, payload: Any, **kw: Any) -> Response:
    return Response(status, json.dumps(payload, separators=(",", ":")).encode(), **kw)


def error(status: int, kind: str, message: str, request_id: str, **kw: Any) -> Response:
    return json_response(status, {"error": {"type": kind, "message": message,
                                            "request_id": request_id}}, **kw)
