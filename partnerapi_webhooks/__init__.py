"""Receiver for the Partner API's signed webhook notifications.

Verifies, deduplicates and lands every accepted notification durably before answering 2xx.
The landing area is the interface to the pipeline; see docs/webhooks.md.

The server parts (Starlette, uvicorn) are imported on first use only: the tap reads the
landing area through :mod:`partnerapi_webhooks.reader` without the ``webhooks`` extra.
"""

from __future__ import annotations

import typing as t

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> t.Any:
    if name == "create_app":
        from partnerapi_webhooks.app import create_app

        return create_app
    if name == "Settings":
        from partnerapi_webhooks.config import Settings

        return Settings
    raise AttributeError(name)
