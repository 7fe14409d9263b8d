"""The vendor sandbox as its own process, driven over its admin API exactly as an operator
would: the pipeline under test never shares memory with it (the shared driver lives in
``partnerapi_sandbox.process``)."""

from __future__ import annotations

from partnerapi_sandbox.process import SandboxProcess

__all__ = ["SandboxProcess"]
