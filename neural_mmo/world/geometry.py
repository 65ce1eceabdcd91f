"""Distances and search orders on the tile grid, shared by the rules and the observations."""

from __future__ import annotations

import numpy as np

from neural_mmo.world.kernel import kernel


@kernel
def distance(r0: int, c0: int, r1: int, c1: int) -> int:
    """Chebyshev distance: every reach and sight is a square."""
    return max(abs(r0 - r1), abs(c0 - c1))


def nearest_first(radius: int) -> np.ndarray:
    """Offsets ``(dr, dc)`` of the square of side ``2 radius + 1``, nearest first, from ``(0, 0)``.

    Order: Chebyshev distance, then Euclidean, then row, then column, so ties are broken the
    same way everywhere (agents' entity rows, NPCs looking for prey).
    """
    offsets = [(dr, dc) for dr in range(-radius, radius + 1) for dc in range(-radius, radius + 1)]
    offsets.sort(key=lambda o: (max(abs(o[0]), abs(o[1])), o[0] ** 2 + o[1] ** 2, o[0], o[1]))
    return np.array(offsets, np.int16).reshape(-1, 2)


@kernel(inline=True)
def in_square(r: int, c: int, lo: int, hi: int) -> bool:
    """Whether ``(r, c)`` lies in the square ``lo .. hi`` (rows and columns, inclusive)."""
    return lo <= r <= hi and lo <= c <= hi
