"""Errors the tap raises, each carrying what a human needs to act on it."""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError


class PartnerAPIError(FatalAPIError):
    """A fatal answer from the vendor; the message names the vendor's request id."""

    def __init__(self, message: str, *, status: int | None = None,
                 error_type: str | None = None, request_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.request_id = request_id


class InvalidClientError(PartnerAPIError):
    """The client_id/client_secret pair was refused: retrying cannot help."""


class InvalidCursorError(Exception):
    """The vendor refused a cursor (expired after 24 h or unknown): restart the window."""

    def __init__(self, request_id: str | None) -> None:
        super().__init__(f"invalid or expired cursor (request_id={request_id})")
        self.request_id = request_id


class RetriesExhaustedError(PartnerAPIError):
    """A request kept failing transiently beyond max_retries / max_retry_seconds."""


def vendor_error(payload: object) -> tuple[str | None, str | None, str | None]:
    """(type, message, request_id) from a vendor error body, tolerating any shape."""
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        err = payload["error"]
        return err.get("type"), err.get("message"), err.get("request_id")
    return None, None, None
