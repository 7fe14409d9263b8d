"""Receiver for the Partner API's signed webhook notifications.

Verifies, deduplicates and lands every accepted notification durably before answering 2xx.
The landing area is the interface to the pipeline; see docs/webhooks.md.
"""

from partnerapi_webhooks.app import create_app
from partnerapi_webhooks.config import Settings

__all__ = ["Settings", "create_app"]
