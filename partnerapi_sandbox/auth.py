"""OAuth2 client credentials: clients, tokens, expiry and revocation."""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote


@dataclass
class Client:
    client_id: str
    secret: str
    # None means every resource; otherwise listing anything else is 403.
    resources: frozenset[str] | None = None


DEFAULT_CLIENTS = (
    Client("demo-client", "demo-secret"),
    # A client that may read customers only: exercises the documented 403.
    Client("limited-client", "limited-secret", frozenset({"customers"})),
)


@dataclass
class Token:
    client_id: str
    expires_at: float  # operational clock (see Sandbox.op_now)
    revoked: bool = False


@dataclass
class Auth:
    clients: dict[str, Client] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_client(self, client: Client) -> None:
        self.clients[client.client_id] = client

    def credentials(self, body: bytes, authorization: str | None) -> tuple[str | None, str | None,
                                                                              str | None]:
        """(client_id, client_secret, grant_type) from a form body and/or HTTP Basic."""
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        cid = form.get("client_id", [None])[0]
        secret = form.get("client_secret", [None])[0]
        grant = form.get("grant_type", [None])[0]
        if authorization and authorization.lower().startswith("basic "):
            try:
                pair = base64.b64decode(authorization[6:].strip()).decode()
                user, _, pw = pair.partition(":")
                cid, secret = unquote(user), unquote(pw)
            except (ValueError, UnicodeDecodeError):
                return None, None, grant
        return cid, secret, grant

    def check_client(self, cid: str | None, secret: str | None) -> Client | None:
        client = self.clients.get(cid or "")
        if client is None or not secrets.compare_digest(client.secret, secret or ""):
            return None
        return client

    def issue(self, client_id: str, now: float, lifetime: int) -> str:
        token = "pat_" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = Token(client_id, now + lifetime)
        return token

    def resolve(self, authorization: str | None, now: float) -> tuple[Token | None, str]:
        """The token's record, or None and why (`missing`, `unknown`, `expired`, `revoked`)."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None, "missing"
        tok = self.tokens.get(authorization[7:].strip())
        if tok is None:
            return None, "unknown"
        if tok.revoked:
            return None, "revoked"
        if now >= tok.expires_at:
            return None, "expired"
        return tok, "ok"

    def revoke(self, authorization: str) -> None:
        tok = self.tokens.get(authorization[7:].strip())
        if tok is not None:
            tok.revoked = True

    def revoke_all(self) -> int:
        with self.lock:
            live = [t for t in self.tokens.values() if not t.revoked]
            for t in live:
                t.revoked = True
        return len(live)
