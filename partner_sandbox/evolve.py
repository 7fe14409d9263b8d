"""What happens while the simulated clock moves: creates, updates, hard deletes."""

from __future__ import annotations

from typing import Any

from partner_sandbox.world import World


def mutate(world: World, resource: str, record: dict[str, Any]) -> None:
    """Change a record the way the vendor would on an update (in place)."""


def evolve(world: World, start_us: int, end_us: int) -> None:
    """Write every change the vendor makes in [start_us, end_us)."""
