"""The game's shared vocabulary: the values of actions and commands that several layers name
(world systems, observation masks, scripted agents, replays), kept apart from any one system."""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Direction(IntEnum):
    """Values of the ``move`` action head."""

    STAY = 0
    NORTH = 1  # r - 1
    SOUTH = 2  # r + 1
    EAST = 3  # c + 1
    WEST = 4  # c - 1


N_DIRECTIONS = len(Direction)
DR = np.array([0, -1, 1, 0, 0], np.int16)
"""Row offset of each Direction."""
DC = np.array([0, 0, 0, 1, -1], np.int16)
"""Column offset of each Direction."""


class Style(IntEnum):
    """Attack styles (0: no attack)."""

    NONE = 0
    MELEE = 1
    RANGE = 2
    MAGE = 3


N_STYLES = 3
