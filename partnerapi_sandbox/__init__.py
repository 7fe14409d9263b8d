"""A local simulator of the Partner API, faults included."""

from partnerapi_sandbox.sandbox import Sandbox

__all__ = ["Sandbox"]
