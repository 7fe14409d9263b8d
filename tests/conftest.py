"""Fixtures shared by several groups. `sandbox` is a factory: `sb = sandbox(seed=7,
faults="off")` starts an in-process Partner API sandbox on a free loopback port and stops it
after the test. `fakesnow_port`: fakesnow's server, once per module (transform, pipeline).
A group's own fixtures live in its conftest.py; helpers in tests/support/ or the group."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from partnerapi_sandbox import Sandbox
from tests.support.fakesnow import fakesnow_server


@pytest.fixture
def sandbox() -> Iterator[Callable[..., Sandbox]]:
    started: list[Sandbox] = []

    def make(**kwargs: Any) -> Sandbox:
        # Stalls short enough for tests: a 1 s hang still beats a client timeout set lower.
        kwargs.setdefault("hang_seconds", 1.0)
        kwargs.setdefault("max_retry_after_seconds", 2.0)
        sb = Sandbox(**kwargs).start()
        started.append(sb)
        return sb

    yield make
    for sb in started:
        sb.stop()


@pytest.fixture(scope="module")
def fakesnow_port() -> Iterator[int]:
    with fakesnow_server() as port:
        yield port
