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
    DESTROY = 4  # inventory position whose item to destroy; -1: none
    GIVE = 5  # inventory position whose item to give; -1: none
    GIVE_TO = 6  # agent slot that receives it; -1: none
    GOLD = 7  # gold to give; 0: none
    GOLD_TO = 8  # agent slot that receives it; -1: none
    SELL = 9  # inventory position of the item to list on the exchange; -1: none
    PRICE = 10  # its asking price, in gold
    BUY = 11  # market row (item type and level: see neural_mmo.world.systems.exchange) to buy; -1: none


NO_COMMAND = (0, 0, -1, -1, -1, -1, -1, 0, -1, -1, 0, -1)
"""The command row that does nothing (one value per column)."""
