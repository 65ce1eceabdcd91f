"""Fog: a death fog closes in from the playable area's edges and hurts whoever stands in it.

Off unless ``fog.enabled``. The fog has no state of its own: where it stands is a function of the
tick and the rules. At tick ``t`` it covers the outer ``depth`` rings of the playable area::

    depth(t) = 0                                                   for t <= start_tick
    depth(t) = min(max_depth, floor((t - start_tick) x speed))     after it
    max_depth = (size - min_safe) // 2

The rest, the *safe square*, has side ``size - 2 depth`` (``min_safe``, or ``min_safe + 1``
when ``size - min_safe`` is odd, once the fog has stopped). The product is computed on integers
so that no rounding moves a ring: ``speed`` is counted in millionths of a tile
(``step = round(speed x 10^6)``) and ``depth = (t - start_tick) x step // 10^6``; so at speed 0.1
the first ring is fogged exactly 10 ticks after ``start_tick``, at 0.57 the 57th ring exactly 100
ticks after it.

Each tick, after vitals, every living agent not killed earlier in the tick that stands outside
the safe square loses ``damage`` health; at 0 it dies with cause FOG (immortal agents stay at 1).
Nobody spawns in the fog: the fog closes its rings to spawning (``closed_rings``), so continuous
spawning, which uses the edge ring, stops once the fog covers it (no draws are made), and NPCs
respawn only inside the safe square. NPCs take no fog damage. So from then on a continuous world
only loses agents: its episode ends when nobody is left (with ``spawn.min_alive`` above 0) or at
the horizon.

With the fog on, each agent observes ``fog``: how many moves it is from the fog (its distance to
the safe square's outer ring, 0 on that ring; negative in the fog: minus the moves to the safe
square) and the ticks until the fog next advances (0 once it has stopped).
"""

from __future__ import annotations

import numpy as np

from neural_mmo.world.events import DeathCause
from neural_mmo.world.geometry import in_square
from neural_mmo.world.kernel import kernel
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import Clock, World, WorldState

MICRO = 1_000_000
"""Units of a tile in which ``fog.speed`` is counted."""


@kernel
def fog_depth(tick: int, rules: Rules) -> int:
    """Rings of the playable area the fog covers at ``tick`` (0 when the fog is off)."""
    elapsed = tick - rules.fog.start_tick
    if not rules.fog.enabled or elapsed <= 0:
        return 0
    max_depth = max(0, (rules.map.size - rules.fog.min_safe) // 2)
    step = max(1, int(rules.fog.speed * MICRO + 0.5))
    if elapsed >= max_depth * MICRO:  # step >= 1, so the fog has stopped (and no overflow below)
        return max_depth
    return min(max_depth, (elapsed * step) // MICRO)


NO_FOG = (0, 2**62)
""":func:`safe_bounds` while the fog is off: every tile of any grid is safe."""


@kernel
def safe_bounds(tick: int, rules: Rules) -> tuple[int, int]:
    """First and last row (and column) of the safe square at ``tick``, on the stored grid
    (border included), inclusive; :data:`NO_FOG` when the fog is off."""
    if not rules.fog.enabled:
        return NO_FOG
    depth = fog_depth(tick, rules)
    return rules.map.border + depth, rules.map.border + rules.map.size - 1 - depth


@kernel(inline=True)
def in_fog(r: int, c: int, lo: int, hi: int) -> bool:
    """Whether ``(r, c)`` lies outside the safe square ``lo .. hi`` (see :func:`safe_bounds`)."""
    return not in_square(r, c, lo, hi)


@kernel
def ticks_to_advance(tick: int, rules: Rules) -> int:
    """Ticks from ``tick`` until the fog covers one more ring; 0 when it never will (stopped or off)."""
    depth = fog_depth(tick, rules)
    max_depth = max(0, (rules.map.size - rules.fog.min_safe) // 2)
    if not rules.fog.enabled or depth >= max_depth:
        return 0
    step = max(1, int(rules.fog.speed * MICRO + 0.5))
    elapsed = ((depth + 1) * MICRO + step - 1) // step  # first elapsed time with depth + 1 rings
    return rules.fog.start_tick + elapsed - tick


@kernel(inline=True)
def fog_distance(r: int, c: int, lo: int, hi: int) -> int:
    """Moves from ``(r, c)`` to the fog: 0 on the safe square's outer ring, more inside it; in the
    fog, minus the moves to the safe square."""
    out = max(0, lo - r, r - hi) + max(0, lo - c, c - hi)
    if out > 0:
        return -out
    return min(r - lo, hi - r, c - lo, hi - c)


@kernel(inline=True)
def close_fog(world: World, rules: Rules) -> None:
    """Damage every living agent standing in the fog this tick (see module docs)."""
    if not rules.fog.enabled:
        return
    agents = world.agents
    lo, hi = safe_bounds(world.clock[Clock.TICK], rules)
    world.closed_rings[0] = max(world.closed_rings[0], lo - rules.map.border)  # no spawns in the fog
    if lo <= rules.map.border:  # no fog yet
        return
    for i in range(agents.alive.shape[0]):
        if not agents.alive[i] or agents.death_cause[i] != 0:  # dead, or killed earlier this tick
            continue
        if not in_fog(agents.r[i], agents.c[i], lo, hi):
            continue
        health = int(agents.health[i]) - rules.fog.damage
        if rules.vitals.immortal:
            health = max(1, health)
        elif health <= 0:
            health = 0
            agents.death_cause[i] = DeathCause.FOG
        agents.health[i] = health


@kernel
def write_fog_view(world: World, out: np.ndarray, rules: Rules) -> None:
    """``out[i]`` (int16 [2]) of every agent slot shown this tick: its :func:`fog_distance` and
    the ticks until the fog next advances (saturated at 32767); other slots are zeroed."""
    agents = world.agents
    tick = world.clock[Clock.TICK]
    lo, hi = safe_bounds(tick, rules)
    wait = min(ticks_to_advance(tick, rules), 32767)
    for i in range(out.shape[0]):
        if agents.alive[i] or agents.death_tick[i] == tick:
            out[i, 0] = max(-32767, min(32767, fog_distance(agents.r[i], agents.c[i], lo, hi)))
            out[i, 1] = wait
        else:
            out[i, 0] = 0
            out[i, 1] = 0


def shaded_areas(state: WorldState) -> list[list[int]]:
    """What the viewer shades (see :func:`neural_mmo.world.systems.shaded_areas`): the bands of
    the playable area outside the safe square, ``[row, col, rows, cols]`` each; none before the
    fog starts."""
    if not state.config.fog.enabled:
        return []
    lo, hi = (int(x) for x in safe_bounds(state.tick, state.rules))
    first = state.config.map.border
    last = first + state.config.map.size - 1
    if lo <= first:
        return []
    width = last - first + 1
    return [
        [first, first, lo - first, width],  # above the safe square
        [hi + 1, first, last - hi, width],  # below it
        [lo, first, hi - lo + 1, lo - first],  # left of it
        [lo, hi + 1, hi - lo + 1, last - hi],  # right of it
    ]
