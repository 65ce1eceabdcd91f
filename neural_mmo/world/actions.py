"""The action heads: what an agent can choose each tick.

An action is one integer per head (an ``int32 [n_heads]`` row; ``[N, n_heads]`` for a world).
Value 0 of every head is the no-op, so a zero row is always a valid action and a rejected value
becomes 0. Later rules add heads (attack style and target, use, give, buy, sell) at the end of
this table, so existing heads keep their column and meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from neural_mmo.config import Config
from neural_mmo.world.systems.movement import Direction


class ActionHead(IntEnum):
    """Column of each head in an action row."""

    MOVE = 0


@dataclass(frozen=True)
class HeadSpec:
    name: str
    size: int
    doc: str
    values: tuple[str, ...] = ()


def action_heads(config: Config) -> tuple[HeadSpec, ...]:
    """The heads in column order, with their number of choices under ``config``."""
    del config  # sizes of later heads (targets) depend on it
    return (
        HeadSpec(
            "move",
            len(Direction),
            "step to a neighbouring tile, or stay",
            tuple(d.name.lower() for d in Direction),
        ),
    )
