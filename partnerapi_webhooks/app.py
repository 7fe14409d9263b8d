"""The ASGI application: POST <path> (notifications), GET /healthz, GET /metrics."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from partnerapi_webhooks import signature
from partnerapi_webhooks.accept import Acceptor
from partnerapi_webhooks.config import Settings
from partnerapi_webhooks.dedup_store import DedupStore
from partnerapi_webhooks.landing import Landing, landing_from_uri
from partnerapi_webhooks.metrics import Metrics
from partnerapi_webhooks.notification import NotificationError, parse

log = logging.getLogger("partnerapi_webhooks")


class Rejected(Exception):
    def __init__(self, reason: str, status: int, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
        self.message = message


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Rejected("bad_content_length", 400, "Content-Length is not a number")
        if int(declared) > limit:
            raise Rejected("body_too_large", 413, f"body exceeds {limit} bytes")
    # Chunked bodies have no Content-Length: count while reading and stop at the limit.
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Rejected("body_too_large", 413, f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(status: int, outcome: str, **fields: Any) -> JSONResponse:
    return JSONResponse({"status": outcome, **fields}, status_code=status)


def create_app(
    settings: Settings,
    *,
    landing: Landing | None = None,
    store: DedupStore | None = None,
) -> Starlette:
    landing = landing or landing_from_uri(settings.landing)
    store = store or DedupStore(settings.state_db)
    acceptor = Acceptor(settings, store, landing)
    metrics = Metrics(settings.environment)

    async def receive(request: Request) -> Response:
        started = time.perf_counter()
        outcome, reason, kind = "error", None, None
        try:
            body = await _read_body(request, settings.max_body_bytes)
            timestamp = signature.verify(
                request.headers.get(signature.HEADER),
                body,
                settings.secrets,
                now=time.time(),
                tolerance_seconds=settings.tolerance_seconds,
                future_tolerance_seconds=settings.future_tolerance_seconds,
            )
            notification = parse(body)
            kind = notification.type
            result = await run_in_threadpool(acceptor.accept, notification, body, timestamp)
            if result.kind == "in_progress":
                outcome, reason = "rejected", "in_progress"
                return _answer(
                    409,
                    "in_progress",
                    reason="in_progress",
                    id=notification.id,
                    message="another delivery of this id is being landed; retry later",
                )
            outcome = result.kind
            return _answer(result.status, result.kind, id=notification.id)
        except (Rejected, signature.SignatureError, NotificationError) as exc:
            outcome, reason = "rejected", exc.reason
            log.info("rejected delivery: %s (%s)", exc.reason, exc.message)
            return _answer(exc.status, "rejected", reason=exc.reason, message=exc.message)
        except ClientDisconnect:
            outcome, reason = "rejected", "client_disconnect"
            return Response(status_code=400)
        except Exception:
            log.exception("landing failed; answering 503 so the vendor retries")
            return _answer(503, "error", reason="landing_failed")
        finally:
            metrics.record(outcome, reason=reason, kind=kind, seconds=time.perf_counter() - started)

    async def healthz(request: Request) -> Response:
        try:
            await run_in_threadpool(store.check)
            await run_in_threadpool(landing.check)
        except Exception as exc:
            return JSONResponse({"status": "unhealthy", "error": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "environment": settings.environment})

    async def metrics_endpoint(request: Request) -> Response:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    app = Starlette(
        routes=[
            Route(settings.path, receive, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ]
    )
    app.state.settings = settings
    app.state.store = store
    app.state.landing = landing
    app.state.metrics = metrics
    return app
