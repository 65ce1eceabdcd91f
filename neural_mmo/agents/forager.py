"""The Forager: walks to food or water, whichever it needs more, and never steps on lava.

Per agent, per tick: a breadth-first search over its own tile crop (passable, not lava, not
occupied) finds the nearest goal: a forest tile when food is the lower fraction, a tile next to
water otherwise. It takes the first step of that path. With no goal in view it makes a random safe
move, biased to keep its previous heading so it explores instead of jittering. With items it also
uses them (:mod:`neural_mmo.agents.items`); standing on a resource tile harvests it by itself.
"""

from __future__ import annotations

import numba
import numpy as np

from neural_mmo.agents.base import Policy
from neural_mmo.agents.items import use_actions
from neural_mmo.observe.heads import ActionHead
from neural_mmo.observe.layout import EntityColumn as E
from neural_mmo.observe.layout import TileChannel
from neural_mmo.world.materials import DEADLY, DRINKABLE, FOOD, PASSABLE
from neural_mmo.world.systems.movement import DC, DR, N_DIRECTIONS


@numba.njit(cache=True)
def _goal(material: np.ndarray, r: int, c: int, want_food: bool) -> bool:
    if want_food:
        return FOOD[material[r, c]]
    n = material.shape[0]
    for d in range(1, N_DIRECTIONS):
        rr = r + DR[d]
        cc = c + DC[d]
        if 0 <= rr < n and 0 <= cc < n and DRINKABLE[material[rr, cc]]:
            return True
    return False


@numba.njit(cache=True)
def forage_actions(
    tiles: np.ndarray,
    entities: np.ndarray,
    action_mask: np.ndarray,
    move_offset: int,
    max_food: float,
    max_water: float,
    heading: np.ndarray,
    rng: np.random.Generator,
    out: np.ndarray,
) -> None:
    """Write the move head of ``out`` for every agent (see module docs)."""
    n = tiles.shape[1]
    centre = n // 2
    first = np.empty((n, n), np.int8)
    queue = np.empty((n * n, 2), np.int16)
    for i in range(tiles.shape[0]):
        out[i, ActionHead.MOVE] = 0
        if entities[i, 0, E.KIND] == 0:
            continue
        if entities[i, 0, E.TIME_ALIVE] == 0:  # a new agent in this row: forget the old heading
            heading[i] = 0
        material = tiles[i, :, :, TileChannel.MATERIAL]
        occupied = tiles[i, :, :, TileChannel.OCCUPANT]
        want_food = entities[i, 0, E.FOOD] / max_food <= entities[i, 0, E.WATER] / max_water
        if _goal(material, centre, centre, want_food):
            continue
        first[:] = -1
        first[centre, centre] = 0
        head, tail = 0, 1
        queue[0, 0] = centre
        queue[0, 1] = centre
        found = 0
        while head < tail and found == 0:
            r = queue[head, 0]
            c = queue[head, 1]
            head += 1
            for d in range(1, N_DIRECTIONS):
                rr = r + DR[d]
                cc = c + DC[d]
                if rr < 0 or rr >= n or cc < 0 or cc >= n or first[rr, cc] >= 0:
                    continue
                m = material[rr, cc]
                if not PASSABLE[m] or DEADLY[m] or occupied[rr, cc] != 0:
                    continue
                first[rr, cc] = d if first[r, c] == 0 else first[r, c]
                if _goal(material, rr, cc, want_food):
                    found = first[rr, cc]
                    break
                queue[tail, 0] = rr
                queue[tail, 1] = cc
                tail += 1
        if found == 0:
            options = 0
            keep = False
            for d in range(1, N_DIRECTIONS):
                m = material[centre + DR[d], centre + DC[d]]
                if action_mask[i, move_offset + d] and not DEADLY[m]:
                    options += 1
                    keep = keep or d == heading[i]
            if options == 0:
                continue
            if keep and rng.random() < 0.8:
                found = heading[i]
            else:
                pick = rng.integers(0, options)
                for d in range(1, N_DIRECTIONS):
                    m = material[centre + DR[d], centre + DC[d]]
                    if action_mask[i, move_offset + d] and not DEADLY[m]:
                        if pick == 0:
                            found = d
                            break
                        pick -= 1
        if action_mask[i, move_offset + found] == 0:  # e.g. frozen: only staying is allowed
            found = 0
        heading[i] = found
        out[i, ActionHead.MOVE] = found


class ForagerPolicy(Policy):
    """Seeks food or water by shortest path within view; never steps onto lava. With items: drinks
    a potion when hurt, eats a ration when hungry or thirsty (below ``low`` of the maximum), else
    puts on the best upgrade it may wear (:func:`~neural_mmo.agents.items.use_actions`)."""

    name = "forager"

    def __init__(self, layout, seed: int = 0, low: float = 0.4):
        super().__init__(layout, seed)
        self._heading = np.zeros(0, np.int8)
        self.low = low

    def act(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        tiles = observations["tiles"]
        n = tiles.shape[0]
        if self._heading.shape[0] != n:
            self._heading = np.zeros(n, np.int8)
        out = np.zeros((n, len(self.layout.heads)), np.int32)
        v = self.layout.config.vitals
        forage_actions(
            tiles, observations["entities"], observations["action_mask"],
            int(self.layout.action_offsets[ActionHead.MOVE]), float(v.max_food), float(v.max_water),
            self._heading, self.rng, out,
        )  # fmt: skip
        if self.layout.config.item.enabled:
            o, size = self.layout.action_offsets[ActionHead.USE], self.layout.action_sizes[ActionHead.USE]
            use_actions(
                observations["items"], observations["entities"], observations["action_mask"][:, o : o + size],
                self.low, float(v.max_food), float(v.max_water), out[:, ActionHead.USE],
            )  # fmt: skip
        return out
