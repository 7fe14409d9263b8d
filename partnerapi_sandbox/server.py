"""Stdlib HTTP server that acts out `Response`s, misbehaviours included."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from partnerapi_sandbox.admin import handle_admin
from partnerapi_sandbox.responses import Response, error
from partnerapi_sandbox.timeutil import http_date

if TYPE_CHECKING:
    from partnerapi_sandbox.sandbox import Sandbox


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, sb: Sandbox, host: str, port: int) -> None:
        self.sb = sb
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__((host, port), Handler)

    # Keep-alive connections outlive shutdown(); remember them so stop() can close them.
    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SandboxServer

    def version_string(self) -> str:
        return "PartnerAPI-Sandbox/1"

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header shows the simulated clock, never the wall clock.
        return http_date(self.server.sb.now_us)

    def log_message(self, format: str, *args: object) -> None:
        if self.server.sb.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        sb = self.server.sb
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        request_id = sb.api.request_id()
        try:
            if self.path.startswith("/_sandbox/"):
                resp = handle_admin(sb, method, self.path, body, request_id)
            else:
                resp = sb.api.handle(method, self.path, self.headers, body, request_id)
        except Exception as exc:  # a sandbox bug must still look like a vendor 500
            resp = error(500, "internal_error", f"sandbox bug: {exc!r}", request_id)
            if sb.verbose:
                traceback.print_exc()
        self._send(resp, request_id)

    def _send(self, resp: Response, request_id: str) -> None:
        if resp.delay:
            time.sleep(resp.delay)
        if resp.hang_up:
            self.close_connection = True
            return
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        self.send_header("X-Request-Id", request_id)
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if resp.truncate:
            self.wfile.write(resp.body[: len(resp.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(resp.body)
