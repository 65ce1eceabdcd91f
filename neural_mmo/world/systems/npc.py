"""NPCs: scripted mobs whose danger grows from the map's edge to its centre.

A tile's *danger* is ``1 - (Chebyshev distance to the playable area's centre) / (half its
side)``: 0 on the edge ring where agents spawn, 1 at the centre. An NPC spawned on a tile of
danger ``x`` is passive when ``x < passive_below``, neutral when ``x < neutral_below``, hostile
otherwise; its level (every skill) is ``round(edge_level + (centre_level - edge_level) x)``; its
style is drawn uniformly from melee, range and mage; its max health follows the constitution
rule (``max_health + health_per_level (level - 1)``).

Spawning: at reset, and every tick while fewer than ``n_npcs`` live, up to ``spawn_attempts``
attempts (``4 n_npcs`` at reset) at uniformly random tiles of the playable area; an attempt
succeeds on a free, spawnable tile off the closed rings (see Spawning). A slot is not refilled
on the tick its NPC died.

Each tick, after the agents' attacks, every living NPC in slot order:

1. regenerates as much health as a fed agent does (``floor(vitals.max_health x regen_fraction)``,
   never above its max) if not in combat (or always, with ``regen_in_combat``);
2. picks a target: the agent it already fights if that agent still lives within ``sight``
   (Chebyshev distance); else, if hostile, the nearest living agent within ``sight``;
   a neutral NPC gets its target only by being attacked (passive NPCs never fight);
3. with a target within its style's reach, attacks it (the combat rules, against the agent's
   defence; the agent gains defence experience unless the blow killed it); otherwise, unless
   frozen, steps toward it along a shortest path found by a breadth-first search confined to
   the ``(2 sight + 1)`` square around it (never the whole map), ending on any tile within
   reach; when no such path exists it drops the target and acts as in 4;
4. with no target, unless frozen: farther than ``leash`` from its spawn tile, it steps back
   toward it; else with probability ``wander_prob`` it tries one random step that keeps it
   within the leash.

NPCs never step onto lava, water, stone or an occupied tile, and NPCs do not fight each other.
An NPC killed by an agent leaves the map at the end of the tick.
"""

from __future__ import annotations

import numpy as np

from neural_mmo.world.events import EventKind, log_pair
from neural_mmo.world.geometry import distance, in_square
from neural_mmo.world.items import armour_block
from neural_mmo.world.kernel import kernel
from neural_mmo.world.materials import DEADLY, PASSABLE, SPAWNABLE
from neural_mmo.world.rng import Stream, below, uniform
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import Clock, World, WorldState
from neural_mmo.world.systems.combat import (
    N_STYLES,
    STYLE_SKILL,
    combat_level,
    in_combat,
    log_attack,
    roll_damage,
    take_hit,
)
from neural_mmo.world.systems.movement import DC, DR, N_DIRECTIONS
from neural_mmo.world.systems.progression import Skill, gain_xp, max_health_at
from neural_mmo.world.systems.spawning import open_square
from neural_mmo.world.tables import NEVER, Behaviour

BLOCKED = 9
"""Search mark of a tile that was looked at and cannot be entered."""


@kernel
def danger(r: int, c: int, border: int, size: int) -> float:
    """0 on the playable area's edge ring, 1 at its centre (see module docs)."""
    half = (size - 1) / 2.0
    if half <= 0.0:
        return 1.0
    centre = border + half
    return max(0.0, 1.0 - max(abs(r - centre), abs(c - centre)) / half)


@kernel
def _place_npc(
    world: World, j: int, r: int, c: int, behaviour: int, level: int, style: int, rules: Rules
) -> None:
    """Put a new NPC in slot ``j`` at ``(r, c)`` with full health; log NPC_SPAWN."""
    npcs, clock = world.npcs, world.clock
    n_agents = world.agents.alive.shape[0]
    npc_id = clock[Clock.NEXT_NPC_ID]
    clock[Clock.NEXT_NPC_ID] = npc_id + 1
    npcs.alive[j] = True
    npcs.npc_id[j] = npc_id
    npcs.behaviour[j] = behaviour
    npcs.r[j] = r
    npcs.c[j] = c
    npcs.home_r[j] = r
    npcs.home_c[j] = c
    npcs.max_health[j] = max_health_at(level, rules)
    npcs.health[j] = npcs.max_health[j]
    npcs.level[j, :] = level
    npcs.style[j] = style
    npcs.freeze_until[j] = NEVER
    npcs.combat_tick[j] = NEVER
    npcs.target[j] = -1
    npcs.target_id[j] = -1
    npcs.killer[j] = -1
    npcs.spawn_tick[j] = clock[Clock.TICK]
    npcs.death_cause[j] = 0
    world.occupant[r, c] = n_agents + j
    log_pair(world.events, EventKind.NPC_SPAWN, n_agents + j, npc_id, r, c, behaviour, -1, -1, level)


@kernel(inline=True)
def spawn_npcs(world: World, attempts: int, rules: Rules) -> None:
    """Up to ``attempts`` spawn attempts while below the cap (see module docs)."""
    npcs, material, occupant = world.npcs, world.material, world.occupant
    rng = world.streams[Stream.NPC]
    tick = world.clock[Clock.TICK]
    capacity = npcs.alive.shape[0]
    size = material.shape[0] - 2 * rules.map.border
    lo, hi = open_square(world, rules)
    alive = 0
    for j in range(capacity):
        alive += npcs.alive[j]
    slot = 0
    for _ in range(attempts):
        if alive >= capacity:
            return
        while npcs.alive[slot] or npcs.death_tick[slot] == tick:
            slot += 1
            if slot >= capacity:
                return
        r = rules.map.border + below(rng, size)
        c = rules.map.border + below(rng, size)
        if SPAWNABLE[material[r, c]] and occupant[r, c] < 0 and in_square(r, c, lo, hi):
            x = danger(r, c, rules.map.border, size)
            if x < rules.npc.passive_below:
                behaviour = Behaviour.PASSIVE
            elif x < rules.npc.neutral_below:
                behaviour = Behaviour.NEUTRAL
            else:
                behaviour = Behaviour.HOSTILE
            level = int(round(rules.npc.edge_level + (rules.npc.centre_level - rules.npc.edge_level) * x))
            style = 1 + below(rng, N_STYLES)
            _place_npc(world, slot, r, c, behaviour, level, style, rules)
            alive += 1


@kernel
def _enterable(material: np.ndarray, occupant: np.ndarray, r: int, c: int) -> bool:
    m = material[r, c]
    return PASSABLE[m] and not DEADLY[m] and occupant[r, c] < 0


@kernel
def step_toward(material: np.ndarray, occupant: np.ndarray, r0: int, c0: int, tr: int, tc: int,
                reach: int, radius: int, search: np.ndarray) -> int:  # fmt: skip
    """First Direction of a shortest path from ``(r0, c0)`` to any enterable tile within ``reach``
    of ``(tr, tc)``, searching only the square of ``radius`` around the start; 0 if none."""
    w = 2 * radius + 1
    side = material.shape[0]
    first = search[0]
    queue = search[1]
    first[: w * w] = -1
    start = radius * w + radius
    first[start] = 0
    queue[0] = start
    head, tail = 0, 1
    while head < tail:
        idx = queue[head]
        head += 1
        dr = idx // w - radius
        dc = idx % w - radius
        for d in range(1, N_DIRECTIONS):
            ndr = dr + DR[d]
            ndc = dc + DC[d]
            if ndr < -radius or ndr > radius or ndc < -radius or ndc > radius:
                continue
            nidx = (ndr + radius) * w + ndc + radius
            if first[nidx] >= 0:
                continue
            r = r0 + ndr
            c = c0 + ndc
            if r < 0 or r >= side or c < 0 or c >= side or not _enterable(material, occupant, r, c):
                first[nidx] = BLOCKED
                continue
            step = d if idx == start else first[idx]
            first[nidx] = step
            if distance(r, c, tr, tc) <= reach:
                return step
            queue[tail] = nidx
            tail += 1
    return 0


@kernel
def _move_npc(
    rows: np.ndarray, cols: np.ndarray, occupant: np.ndarray, j: int, d: int, n_agents: int
) -> None:
    r0 = rows[j]
    c0 = cols[j]
    occupant[r0, c0] = -1
    rows[j] = r0 + DR[d]
    cols[j] = c0 + DC[d]
    occupant[rows[j], cols[j]] = n_agents + j


@kernel
def _homeward(material: np.ndarray, occupant: np.ndarray, r: int, c: int, hr: int, hc: int) -> int:
    """A step that reduces the larger gap to home (else the smaller one), if free; else 0."""
    vertical = 1 if hr < r else 2
    horizontal = 4 if hc < c else 3
    first, second = (vertical, horizontal) if abs(hr - r) >= abs(hc - c) else (horizontal, vertical)
    for d in (first, second):
        gap = abs(hr - r) if d <= 2 else abs(hc - c)
        if gap > 0 and _enterable(material, occupant, r + DR[d], c + DC[d]):
            return d
    return 0


@kernel
def _find_prey(death_cause: np.ndarray, occupant: np.ndarray, r: int, c: int, offsets: np.ndarray) -> int:
    """The nearest living agent (not killed earlier this tick) within the ``offsets`` square, or -1."""
    n = death_cause.shape[0]
    side = occupant.shape[0]
    for k in range(1, offsets.shape[0]):
        rr = r + offsets[k, 0]
        cc = c + offsets[k, 1]
        if rr < 0 or rr >= side or cc < 0 or cc >= side:
            continue
        occ = occupant[rr, cc]
        if 0 <= occ < n and death_cause[occ] == 0:
            return occ
    return -1


@kernel(inline=True)
def act_npcs(world: World, rules: Rules) -> None:
    """One tick of every living NPC (see module docs)."""
    agents, npcs, material, occupant, events = (
        world.agents,
        world.npcs,
        world.material,
        world.occupant,
        world.events,
    )
    offsets, search = world.npc_offsets, world.npc_search
    rng = world.streams[Stream.NPC]
    now = world.clock[Clock.TICK]
    n = agents.alive.shape[0]
    radius = rules.npc.sight
    for j in range(npcs.alive.shape[0]):
        if not npcs.alive[j] or npcs.death_cause[j] != 0:
            continue
        if rules.combat.regen_in_combat or not in_combat(now, npcs.combat_tick[j], rules.combat.status_ticks):
            npcs.health[j] = min(int(npcs.max_health[j]), int(npcs.health[j]) + rules.derived.regen_amount)
        r = npcs.r[j]
        c = npcs.c[j]
        t = npcs.target[j]
        if t >= 0 and not (
            agents.alive[t]
            and agents.agent_id[t] == npcs.target_id[j]
            and agents.death_cause[t] == 0
            and distance(r, c, agents.r[t], agents.c[t]) <= radius
        ):
            t = -1
        if t < 0 and npcs.behaviour[j] == Behaviour.HOSTILE:
            t = _find_prey(agents.death_cause, occupant, r, c, offsets)
        npcs.target[j] = t
        npcs.target_id[j] = agents.agent_id[t] if t >= 0 else -1
        frozen = now <= npcs.freeze_until[j]
        if t >= 0:
            style = npcs.style[j]
            reach = rules.derived.style_range[style - 1]
            if distance(r, c, agents.r[t], agents.c[t]) <= reach:
                damage = roll_damage(
                    style,
                    npcs.level[j, STYLE_SKILL[style]],
                    agents.level[t, Skill.DEFENCE],
                    agents.style[t],
                    agents.health[t],
                    not rules.vitals.immortal,
                    0,
                    armour_block(world.items.level, world.holdings.equipment, t, rules.item.armour_block)
                    if rules.item.enabled
                    else 0,
                    rng,
                    rules,
                )
                killed = take_hit(agents.health, agents.freeze_until, agents.combat_tick, agents.death_cause,
                                  agents.killer, t, damage, style, n + j, now, rules)  # fmt: skip
                npcs.combat_tick[j] = now
                log_attack(events, n + j, npcs.npc_id[j], r, c, damage, t, agents.agent_id[t], style, killed,
                           combat_level(agents.level, t))  # fmt: skip
                if not killed:
                    gain_xp(
                        agents.xp,
                        agents.level,
                        agents.max_health,
                        t,
                        Skill.DEFENCE,
                        rules.progression.defence_xp_per_damage,
                        damage,
                        agents.agent_id[t],
                        agents.r[t],
                        agents.c[t],
                        events,
                        rules,
                    )
                continue
            if frozen:
                continue
            d = step_toward(material, occupant, r, c, agents.r[t], agents.c[t], reach, radius, search)
            if d > 0:
                _move_npc(npcs.r, npcs.c, occupant, j, d, n)
                continue
            npcs.target[j] = -1  # no path within its search square: give up, and act as if idle
            npcs.target_id[j] = -1
        if frozen:
            continue
        hr = npcs.home_r[j]
        hc = npcs.home_c[j]
        if distance(r, c, hr, hc) > rules.npc.leash:
            d = _homeward(material, occupant, r, c, hr, hc)
        elif uniform(rng) < rules.npc.wander_prob:
            d = 1 + below(rng, N_DIRECTIONS - 1)
            r1 = r + DR[d]
            c1 = c + DC[d]
            if not _enterable(material, occupant, r1, c1) or distance(r1, c1, hr, hc) > rules.npc.leash:
                d = 0
        else:
            d = 0
        if d > 0:
            _move_npc(npcs.r, npcs.c, occupant, j, d, n)


def put_npc(state: WorldState, r: int, c: int, behaviour: int, level: int, style: int) -> int:
    """Place an NPC by hand (scenarios, tools) in the lowest free slot at grid ``(r, c)`` with the
    given Behaviour, level (every skill) and Style; returns its entity number. Raises ValueError
    for a value outside the rules, a tile outside the playable area, taken or not spawnable, or
    no free slot."""
    npcs, occupant, rules = state.npcs, state.occupant, state.rules
    for name, value in (("r", r), ("c", c), ("behaviour", behaviour), ("level", level), ("style", style)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if behaviour not in set(Behaviour):
        raise ValueError(f"behaviour must be one of {[int(b) for b in Behaviour]}, got {behaviour!r}")
    if not 1 <= style <= N_STYLES:
        raise ValueError(f"style must be 1 (melee), 2 (range) or 3 (mage), got {style!r}")
    if not 1 <= level <= rules.progression.max_level:
        raise ValueError(f"level must be in 1..{rules.progression.max_level}, got {level!r}")
    lo, hi = rules.map.border, rules.map.border + state.config.map.size
    if not (lo <= r < hi and lo <= c < hi):
        raise ValueError(f"tile ({r}, {c}) is outside the playable area (rows and columns {lo}..{hi - 1})")
    if occupant[r, c] >= 0 or not SPAWNABLE[state.material[r, c]]:
        raise ValueError(f"tile ({r}, {c}) is occupied or not spawnable")
    free = np.flatnonzero(~npcs.alive)
    if free.size == 0:
        raise ValueError(f"all {npcs.capacity} NPC slots are taken (raise npc.n_npcs)")
    j = int(free[0])
    _place_npc(state.world, j, r, c, int(behaviour), int(level), int(style), rules)
    return state.agents.capacity + j
