"""The sandbox's two clocks, which every part that stamps, expires or limits reads."""

from __future__ import annotations

import time

from partnerapi_sandbox.timeutil import US


class SimClock:
    """``now_us``: the simulated clock (epoch microseconds) records, cursors and the ``Date``
    header are on; it moves only when the sandbox is advanced. ``op_now()``: the operational
    clock (token expiry, rate-limit windows), wall time plus every advance, so that moving
    the simulated clock also ages tokens and windows."""

    def __init__(self, start_us: int) -> None:
        self.start_us = start_us
        self.now_us = start_us
        self._op_offset = 0.0  # seconds the clock was advanced

    def op_now(self) -> float:
        return time.monotonic() + self._op_offset

    def advance(self, delta_us: int) -> None:
        self.now_us += delta_us
        self._op_offset += delta_us / US
