"""OAuth2 client-credentials authentication, one token for the whole process.

The vendor's token endpoint allows 10 requests per minute per client, so the token is
cached across all streams, renewed a safety margin before it expires, and renewed at most
once per request on ``401 invalid_token``. ``invalid_client`` is fatal: no retry can help.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import random
import time
import typing as t

import msgspec
import requests
from singer_sdk.authenticators import OAuthAuthenticator

from tap_partnerapi.errors import InvalidClientError, PartnerAPIError, vendor_error
from tap_partnerapi.pacing import RateLimiter, parse_retry_after

if t.TYPE_CHECKING:
    from tap_partnerapi.clock import ServerClock

TOKEN_REQUESTS_PER_MINUTE = 10
TOKEN_WINDOW_SECONDS = 61.0
TOKEN_ATTEMPTS = 5
UNREACHABLE_ATTEMPTS = 3  # a host that never answered: fail fast (design.md)
UNREACHABLE_SECONDS = 45.0

logger = logging.getLogger("tap_partnerapi.auth")


class PartnerOAuthAuthenticator(OAuthAuthenticator):
    """Client-credentials authenticator shared by every stream of the tap."""

    def __init__(
        self,
        *,
        api_url: str,
        client_id: str,
        client_secret: str,
        limiter: RateLimiter,
        clock: ServerClock,
        timeout: float,
        refresh_margin_seconds: float = 60.0,
    ) -> None:
        super().__init__(
            auth_endpoint=f"{api_url.rstrip('/')}/oauth/token",
            client_id=client_id,
            client_secret=client_secret,
        )
        self.logger = logger
        # The SDK's session retries POSTs inside urllib3 (minutes against a host that does
        # not resolve); retries here are ours, bounded and logged.
        self.token_session = requests.Session()
        self._limiter = limiter
        self._clock = clock
        self._timeout = timeout
        self._margin = refresh_margin_seconds
        self._token_requests: collections.deque[float] = collections.deque(
            maxlen=TOKEN_REQUESTS_PER_MINUTE
        )
        self._expires_at: float | None = None  # monotonic
        self.token_requests = 0

    @property
    def oauth_request_body(self) -> dict:
        return {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }

    def is_token_valid(self) -> bool:
        if self.access_token is None or self._expires_at is None:
            return False
        # A margin longer than a tenth of the token's life would renew on every request
        # and burn the 10/min token budget.
        margin = min(self._margin, 0.1 * (self.expires_in or 0))
        return time.monotonic() < self._expires_at - margin

    def invalidate(self) -> None:
        """Forget the token (after ``401 invalid_token``): the next request gets a new one."""
        self.access_token = None
        self._expires_at = None

    def _respect_token_limit(self) -> None:
        if len(self._token_requests) == self._token_requests.maxlen:
            wait = self._token_requests[0] + TOKEN_WINDOW_SECONDS - time.monotonic()
            if wait > 0:
                self.logger.warning("Token endpoint budget (10/min) spent; waiting %.1fs", wait)
                time.sleep(wait)
        self._token_requests.append(time.monotonic())

    def update_access_token(self) -> None:
        """Fetch a token; transient failures are retried within the 10/min budget."""
        last_error = "no attempt"
        started = time.monotonic()
        for attempt in range(1, TOKEN_ATTEMPTS + 1):
            self._respect_token_limit()
            self._limiter.acquire()
            self.token_requests += 1
            self.logger.info("Requesting new access token")
            try:
                response = self.token_session.post(
                    self.auth_endpoint, data=self.oauth_request_payload,
                    headers={"Accept": "application/json"}, timeout=self._timeout,
                )
            except requests.exceptions.RequestException as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                if not self._clock.known and (
                        attempt >= UNREACHABLE_ATTEMPTS
                        or time.monotonic() - started > UNREACHABLE_SECONDS):
                    # Never got a single answer from this host: a wrong api_url, a DNS or
                    # firewall problem. Say so now rather than after the whole retry budget.
                    raise PartnerAPIError(
                        f"Cannot reach the Partner API at {self.auth_endpoint} after "
                        f"{attempt} attempts ({last_error}); check the setting api_url"
                    ) from exc
                self._pause(attempt, last_error)
                continue
            server_epoch = self._clock.observe(response.headers.get("Date"))
            if response.status_code != 429:
                self._limiter.observe(response.headers, server_epoch)
            try:
                payload = msgspec.json.decode(response.content)
            except msgspec.DecodeError:
                payload = None
            error_type, message, request_id = vendor_error(payload)
            request_id = request_id or response.headers.get("X-Request-Id")
            if response.status_code == 200 and isinstance(payload, dict) \
                    and payload.get("access_token"):
                self.access_token = payload["access_token"]
                expires_in = float(payload.get("expires_in") or 900)
                self.expires_in = int(expires_in)
                self.last_refreshed = dt.datetime.now(dt.UTC)
                self._expires_at = time.monotonic() + expires_in
                return
            if response.status_code == 429:
                wait = parse_retry_after(response.headers.get("Retry-After"), server_epoch)
                self._limiter.block_for(wait if wait is not None else 1.0)
                last_error = "429"
                continue
            if response.status_code in (401, 400) and error_type == "invalid_client":
                raise InvalidClientError(
                    "The vendor refused the client credentials (invalid_client): check the "
                    f"settings client_id and client_secret (request_id={request_id})",
                    status=response.status_code, error_type=error_type,
                    request_id=request_id,
                )
            if response.status_code >= 500 or response.status_code == 200:
                # 200 without a token is a truncated body: as transient as a 5xx.
                last_error = f"HTTP {response.status_code}"
                self._pause(attempt, last_error)
                continue
            raise PartnerAPIError(
                f"Token request failed: HTTP {response.status_code} {error_type or ''} "
                f"{message or ''} (request_id={request_id})",
                status=response.status_code, error_type=error_type, request_id=request_id,
            )
        raise PartnerAPIError(
            f"Could not obtain an access token from {self.auth_endpoint}: {last_error}")

    def _pause(self, attempt: int, reason: str) -> None:
        wait = min(30.0, 0.5 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
        self.logger.warning("Token request failed (%s); retrying in %.2fs", reason, wait)
        time.sleep(wait)
