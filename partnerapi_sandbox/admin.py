"""`/_sandbox/*`: the admin API (loopback, no auth) mirroring the Python API."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from partnerapi_sandbox.responses import Response, error, json_response
from partnerapi_sandbox.store import RESOURCES

if TYPE_CHECKING:
    from partnerapi_sandbox.sandbox import Sandbox


def handle_admin(sb: Sandbox, method: str, target: str, body: bytes,
                 request_id: str) -> Response:
    parts = [unquote(p) for p in urlsplit(target).path.split("/") if p][1:]
    try:
        payload: Any = json.loads(body) if body.strip() else {}
    except ValueError:
        return error(400, "invalid_request", "body must be JSON", request_id)
    try:
        return _route(sb, method, parts, payload if isinstance(payload, dict) else {},
                      request_id)
    except (ValueError, TypeError, KeyError) as exc:
        return error(400, "invalid_request", str(exc), request_id)


def _resource(parts: list[str]) -> str:
    if len(parts) != 2 or parts[1] not in RESOURCES:
        raise ValueError(f"resource must be one of {list(RESOURCES)}")
    return parts[1]


def _route(sb: Sandbox, method: str, parts: list[str], body: dict[str, Any],
           request_id: str) -> Response:
    head = parts[0] if parts else ""
    if method == "GET" and head == "clock":
        return json_response(200, sb.clock())
    if method == "GET" and head == "counters":
        return json_response(200, sb.counters())
    if method == "GET" and head == "truth":
        return json_response(200, sb.truth(_resource(parts)))
    if method == "GET" and head == "deleted":
        return json_response(200, sorted(sb.deleted_ids(_resource(parts))))
    if method == "GET" and head == "pending":
        return json_response(200, sb.pending(_resource(parts)))
    if method == "GET" and head == "config":
        return json_response(200, sb.config())
    if method == "POST" and head == "advance":
        sb.advance(**{k: float(v) for k, v in body.items()})
        return json_response(200, sb.clock())
    if method == "POST" and head == "faults":
        sb.set_faults(body["preset"] if "preset" in body else body["rates"])
        return json_response(200, sb.config())
    if method == "POST" and head == "schema":
        sb.set_schema_mode(body["mode"])
        return json_response(200, sb.config())
    if method == "POST" and head == "fields":
        sb.add_field(body["resource"], body["name"], body["kind"])
        return json_response(200, sb.config())
    if method == "POST" and head == "config":
        sb.configure(**body)
        return json_response(200, sb.config())
    if method == "POST" and head == "touch":
        return json_response(200, sb.touch(body["resource"], body.get("id"),
                                           float(body.get("lag_seconds", 0))))
    if head == "settlements":
        return _settlements(sb, method, parts[1:], body, request_id)
    if method == "POST" and head == "revoke_tokens":
        return json_response(200, {"revoked": sb.revoke_tokens()})
    return error(404, "not_found", f"no admin endpoint {method} /_sandbox/{'/'.join(parts)}",
                 request_id)


_OPTIONS = ("days", "faults", "rows_per_file", "grace_days")


def _settlements(sb: Sandbox, method: str, rest: list[str], body: dict[str, Any],
                 request_id: str) -> Response:
    """POST /_sandbox/settlements {location, format, phase, days, faults, ...} writes a phase
    of the drops; GET .../settlements {options} describes them (expected reconciliation
    counts); GET .../settlements/truth the lines a correct reader ends with."""
    exports = sb.settlements(**{k: body[k] for k in _OPTIONS if k in body})
    if method == "POST" and not rest:
        written = exports.write(str(body["location"]), str(body.get("format", "csv")),
                                str(body.get("phase", "all")))
        return json_response(200, {"written": len(written), **exports.describe()})
    if method == "GET" and not rest:
        return json_response(200, exports.describe())
    if method == "GET" and rest == ["truth"]:
        return json_response(200, exports.truth())
    return error(404, "not_found", "settlements: POST /_sandbox/settlements, GET "
                 "/_sandbox/settlements[/truth]", request_id)
