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


    @property
    def resource_scoped(self) -> bool:
        """A refusal of this one resource (403, or 404 on its listing): the other streams
        can still be read, so the run goes on and fails at its end."""
        return self.status in (403, 404)


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


class TapUsageError(Exception):
    """A mistake in what the tap was given (state, selection): one clear line, no traceback."""


class StateError(TapUsageError):
    """The incoming state cannot be used; the message says where it is and how to fix it."""


class SelectionError(TapUsageError):
    """The selection names no stream the tap has, or selects nothing."""
