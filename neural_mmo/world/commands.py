"""What the world runs each tick: one decoded command row per agent slot.

Policies choose *actions* (the heads of :mod:`neural_mmo.observe.heads`, whose values can name rows
of the agent's own observation); the environment checks them against the action mask and decodes
them into *commands* (``int32 [N, len(Command)]``) that name things the world knows: a Direction,
a Style and an entity number. Systems read their own columns (``commands[:, Command.MOVE]``).
"""

from __future__ import annotations

from enum import IntEnum


class Command(IntEnum):
    """Columns of the decoded command rows the world steps with."""

    MOVE = 0  # Direction
    STYLE = 1  # Style (0: no attack)
    TARGET = 2  # entity number (agent slot, or n_agents + NPC slot); -1: none
    USE = 3  # row of the agent's items observation to use (equipment, then inventory); -1: none
