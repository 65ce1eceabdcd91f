"""Regrowth: depleted tiles come back with a fixed probability per tick.

Instead of rolling a die for every depleted tile every tick (work proportional to the map), a
depleted tile draws the tick it will regrow from the geometric distribution, which gives exactly
the same law as one Bernoulli(p) trial per tick, and waits on a timer wheel. Per tick the cost is
the number of tiles due. Waits longer than the wheel are re-filed when their bucket comes round.
"""

from __future__ import annotations

import numpy as np

from neural_mmo.world.kernel import kernel
from neural_mmo.world.materials import REGROWS_TO, YIELDS
from neural_mmo.world.rng import Stream, geometric
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import REGROW_RING, Clock, RegrowthQueue, World


@kernel(inline=True)
def _file(queue: RegrowthQueue, tile: int, tick: int) -> None:
    due = queue.due[tile]
    at = min(due, tick + REGROW_RING - 1)
    bucket = at % REGROW_RING
    queue.next_tile[tile] = queue.head[bucket]
    queue.head[bucket] = tile


@kernel
def schedule_regrowth(queue: RegrowthQueue, tile: int, tick: int, prob: float, rng: np.ndarray) -> None:
    """Schedule ``tile`` (depleted at ``tick``) to regrow; a tile already waiting is left alone."""
    if prob <= 0.0 or queue.due[tile] >= 0:
        return
    wait = 1 if prob >= 1.0 else geometric(rng, prob)
    queue.due[tile] = tick + wait
    _file(queue, tile, tick)


@kernel(inline=True)
def regrow_resources(world: World) -> int:
    """Regrow the tiles due this tick; re-file the ones still waiting. Returns tiles regrown."""
    queue, material = world.regrowth, world.material
    tick = world.clock[Clock.TICK]
    side = material.shape[1]
    bucket = tick % REGROW_RING
    tile = queue.head[bucket]
    queue.head[bucket] = -1
    regrown = 0
    while tile >= 0:
        following = queue.next_tile[tile]
        if queue.due[tile] <= tick:
            queue.due[tile] = -1
            queue.next_tile[tile] = -1
            r = tile // side
            c = tile % side
            material[r, c] = REGROWS_TO[material[r, c]]
            regrown += 1
        else:
            _file(queue, tile, tick)
        tile = following
    return regrown


@kernel
def schedule_initial_regrowth(world: World, rules: Rules) -> None:
    """At reset: every tile that can regrow into something else (e.g. generated scrub) waits too."""
    queue, material = world.regrowth, world.material
    tick = world.clock[Clock.TICK]
    rng = world.streams[Stream.REGROWTH]
    side = material.shape[1]
    for r in range(material.shape[0]):
        for c in range(side):
            m = material[r, c]
            if REGROWS_TO[m] != m:
                schedule_regrowth(queue, r * side + c, tick, regrow_prob(m, rules), rng)


@kernel
def regrow_prob(m: int, rules: Rules) -> float:
    """Per-tick chance that depleted material ``m`` regrows: a resource tile's
    (``profession.regrow_prob``), else food's (``resources.food_regrow_prob``)."""
    return rules.profession.regrow_prob if YIELDS[REGROWS_TO[m]] > 0 else rules.resources.food_regrow_prob
