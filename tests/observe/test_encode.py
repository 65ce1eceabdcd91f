"""The observation encoder against a slow Python re-implementation of the layout's rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.observe.encode import Observer, nearest_first
from neural_mmo.observe.heads import ActionHead
from neural_mmo.observe.layout import EntityColumn as E
from neural_mmo.observe.layout import EntityKind, ObsLayout, TileChannel
from neural_mmo.world.materials import Material
from neural_mmo.world.state import Clock, WorldState
from neural_mmo.world.tables import N_SKILLS, NEVER, Behaviour

BLOCKING = {int(Material.WATER), int(Material.STONE)}
STEPS = [(-1, 0), (1, 0), (0, 1), (0, -1)]  # north, south, east, west
N_COMBAT_SKILLS = 5  # melee, range, mage, defence, constitution: the combat level is their max


@pytest.mark.parametrize("radius", [1, 2, 3, 7])
def test_nearest_first_order(radius):
    offsets = nearest_first(radius).tolist()
    w = 2 * radius + 1
    assert len(offsets) == w * w and offsets[0] == [0, 0]
    assert len({tuple(o) for o in offsets}) == len(offsets)
    keys = [(max(abs(r), abs(c)), r * r + c * c, r, c) for r, c in offsets]
    assert keys == sorted(keys)
    assert offsets[1:5] == [[-1, 0], [0, -1], [0, 1], [1, 0]]
    assert offsets[5:9] == [[-1, -1], [-1, 1], [1, -1], [1, 1]]


# ---------------------------------------------------------------------- the reference


def _entity_row(state, e, r0, c0):
    """Entity ``e`` (agent slot, or n_agents + NPC slot) as seen from ``(r0, c0)``, from the tables."""
    cfg = state.config
    n = cfg.spawn.n_agents
    tick = state.tick
    is_agent = e < n
    t = state.agents if is_agent else state.npcs
    j = e if is_agent else e - n
    r, c = int(t.r[j]), int(t.c[j])
    row = [0] * len(E)
    row[E.KIND] = EntityKind.PLAYER if is_agent else 1 + int(t.behaviour[j])
    row[E.POPULATION] = int(t.population[j]) if is_agent else 0
    row[E.ROW], row[E.COL] = r, c
    row[E.REL_ROW], row[E.REL_COL] = r - r0, c - c0
    row[E.HEALTH] = int(t.health[j])
    row[E.MAX_HEALTH] = int(t.max_health[j])
    row[E.FOOD] = int(t.food[j]) if is_agent else 0
    row[E.WATER] = int(t.water[j]) if is_agent else 0
    row[E.TIME_ALIVE] = min(tick - int(t.spawn_tick[j]), 32767)
    row[E.LEVEL] = int(t.level[j, :N_COMBAT_SKILLS].max())
    for k in range(N_SKILLS):
        row[E.MELEE + k] = int(t.level[j, k])
    row[E.STYLE] = int(t.style[j])
    row[E.FROZEN] = min(max(0, int(t.freeze_until[j]) - tick), 32767)
    immune = int(t.spawn_tick[j]) + cfg.combat.spawn_immunity - tick if is_agent else 0
    row[E.IMMUNE] = min(max(0, immune), 32767)
    # the coming ticks t' it is still in combat: t' - combat_tick < status_ticks
    status, fought = cfg.combat.status_ticks, int(t.combat_tick[j])
    row[E.IN_COMBAT] = sum(1 for later in range(tick + 1, tick + status + 1) if later - fought < status)
    return row


def reference_observation(state, slot):
    """One agent's observation, computed from the tables (not the occupant grid)."""
    cfg = state.config
    radius, n_rows = cfg.observe.vision_radius, cfg.observe.n_entities
    n, n_pop = cfg.spawn.n_agents, cfg.spawn.n_populations
    a, npcs = state.agents, state.npcs
    material = state.material
    r0, c0 = int(a.r[slot]), int(a.c[slot])
    living = [i for i in range(n) if a.alive[i]] + [n + j for j in range(npcs.capacity) if npcs.alive[j]]

    def pos(e):
        t, j = (a, e) if e < n else (npcs, e - n)
        return int(t.r[j]), int(t.c[j])

    def code(e):
        return int(a.population[e]) + 1 if e < n else n_pop + int(npcs.behaviour[e - n])

    where = {pos(e): e for e in living}
    w = 2 * radius + 1
    tiles = np.zeros((w, w, 2), np.uint8)
    for dr in range(-radius, radius + 1):
        for dc in range(-radius, radius + 1):
            tiles[dr + radius, dc + radius, TileChannel.MATERIAL] = material[r0 + dr, c0 + dc]
            e = where.get((r0 + dr, c0 + dc))
            tiles[dr + radius, dc + radius, TileChannel.OCCUPANT] = 0 if e is None else code(e)

    def key(e):
        dr, dc = pos(e)[0] - r0, pos(e)[1] - c0
        return (max(abs(dr), abs(dc)), dr * dr + dc * dc, dr, dc)

    seen = sorted(
        (e for e in living if e != slot and max(abs(pos(e)[0] - r0), abs(pos(e)[1] - c0)) <= radius), key=key
    )
    entities = np.zeros((n_rows, len(E)), np.int16)
    mask = np.zeros(n_rows, np.uint8)
    shown = np.full(n_rows, -1, np.int32)
    attack = np.zeros(1 + 3 * n_rows, np.int8)
    attack[0] = 1
    reaches = (cfg.combat.melee_range, cfg.combat.range_range, cfg.combat.mage_range)
    for k, e in enumerate([slot, *seen][:n_rows]):
        entities[k] = _entity_row(state, e, r0, c0)
        mask[k] = 1
        shown[k] = e
        if k > 0 and a.alive[slot] and entities[k, E.IMMUNE] == 0:
            for s, reach in enumerate(reaches):
                attack[1 + s * n_rows + k] = key(e)[0] <= reach
    move = np.zeros(5, np.int8)
    move[0] = 1
    frozen = state.tick + 1 <= int(a.freeze_until[slot]) or not a.alive[slot]  # the dead may only stay
    border = cfg.map.border
    lo, hi = border - 1, material.shape[0] - border  # nobody moves past the first border ring
    for d, (dr, dc) in enumerate(STEPS, start=1):
        r1, c1 = r0 + dr, c0 + dc
        inside = lo <= r1 <= hi and lo <= c1 <= hi
        move[d] = not frozen and inside and int(material[r1, c1]) not in BLOCKING and (r1, c1) not in where
    return tiles, entities, mask, np.concatenate([move, attack]), shown


def only_no_ops(layout):
    out = np.zeros(layout.n_actions, np.int8)
    out[layout.action_offsets] = 1
    return out


# ---------------------------------------------------------------------- random worlds


def synthetic_state(rng, *, radius, size, n_slots, n_npcs, n_rows, n_pop, tick, ranges, immunity, status):
    """A world with agents (empty, alive, or died this tick) and NPCs put by hand into the tables,
    with random levels, styles and combat timers around ``tick``."""
    config = Config().override(
        {
            "map.size": size,
            "map.border": radius + 1,
            "observe.vision_radius": radius,
            "observe.n_entities": n_rows,
            "spawn.n_agents": n_slots,
            "spawn.n_populations": min(n_pop, n_slots),
            "npc.n_npcs": n_npcs,
            "combat.melee_range": ranges[0],
            "combat.range_range": ranges[1],
            "combat.mage_range": ranges[2],
            "combat.spawn_immunity": immunity,
            "combat.status_ticks": status,
        }
    )
    state = WorldState.allocate(config)
    g = config.grid_side
    border = config.map.border
    state.material[:] = rng.integers(0, 6, size=(g, g))
    state.clock[Clock.TICK] = tick
    lo, hi = border - 1, g - border  # agents may stand on the first ring of the border
    spread = int(rng.integers(1, hi - lo + 2))  # crowd entities into a corner sometimes
    free = [(r, c) for r in range(lo, lo + spread) for c in range(lo, lo + spread)]
    rng.shuffle(free)

    def timers(t, i):
        t.level[i] = rng.integers(1, 100, size=N_SKILLS)
        t.style[i] = rng.integers(0, 4)
        t.health[i], t.max_health[i] = rng.integers(1, 30000, size=2)
        t.spawn_tick[i] = (
            rng.integers(max(0, tick - 40), tick + 1) if rng.random() < 0.5 else rng.integers(0, tick + 1)
        )
        t.freeze_until[i] = NEVER if rng.random() < 0.3 else tick + rng.integers(-3, 5)
        t.combat_tick[i] = NEVER if rng.random() < 0.3 else tick - rng.integers(0, status + 3)

    a = state.agents
    status_of = rng.integers(0, 3, size=n_slots)  # 0 empty, 1 alive, 2 died this tick
    living_tiles: list[tuple[int, int]] = []
    for i in range(n_slots):
        if status_of[i] == 2 and living_tiles and rng.random() < 0.5:
            r, c = living_tiles[int(rng.integers(len(living_tiles)))]  # a newcomer took its tile
        elif status_of[i] == 0 or not free:
            status_of[i] = 0
            continue
        else:
            r, c = free.pop()
        a.r[i], a.c[i] = r, c
        a.population[i] = rng.integers(0, config.spawn.n_populations)
        a.food[i], a.water[i] = rng.integers(0, 30000, size=2)
        a.agent_id[i] = i
        timers(a, i)
        if status_of[i] == 1:
            a.alive[i] = True
            state.occupant[r, c] = i
            living_tiles.append((r, c))
            if int(state.material[r, c]) in BLOCKING:
                state.material[r, c] = Material.GRASS
        else:
            a.death_tick[i] = tick
    npcs = state.npcs
    for j in range(n_npcs):
        if not free or rng.random() < 0.25:
            continue
        r, c = free.pop()
        npcs.alive[j] = True
        npcs.npc_id[j] = j
        npcs.r[j], npcs.c[j] = r, c
        npcs.behaviour[j] = rng.integers(1, 4)
        timers(npcs, j)
        state.occupant[r, c] = n_slots + j
        if int(state.material[r, c]) in BLOCKING:
            state.material[r, c] = Material.GRASS
    return state, status_of


@given(
    seed=st.integers(0, 2**32 - 1),
    radius=st.integers(1, 4) | st.just(7),  # 7: the default window, compiled as a copy of its own
    size=st.integers(3, 12),
    n_slots=st.integers(1, 40),
    n_npcs=st.integers(0, 12),
    n_rows=st.integers(1, 8),
    n_pop=st.integers(1, 4),
    tick=st.integers(0, 40000),
    ranges=st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)),
    immunity=st.integers(0, 50),
    status=st.integers(0, 8),
)
def test_observer_matches_the_reference(
    seed, radius, size, n_slots, n_npcs, n_rows, n_pop, tick, ranges, immunity, status
):
    rng = np.random.default_rng(seed)
    state, status_of = synthetic_state(
        rng, radius=radius, size=size, n_slots=n_slots, n_npcs=n_npcs, n_rows=n_rows, n_pop=n_pop,
        tick=tick, ranges=ranges, immunity=immunity, status=status,
    )  # fmt: skip
    layout = ObsLayout(state.config)
    buffers = {
        f.key: rng.integers(0, 100, size=(n_slots, *f.shape)).astype(f.dtype) for f in layout.fields
    }  # garbage: every byte that matters must be written
    observer = Observer(layout, buffers)
    observer.entity_slot[:] = rng.integers(-5, 50, size=observer.entity_slot.shape)
    written_before = rng.random(n_slots) < 0.5
    observer.arrays.written[:] = written_before
    garbage = {k: v.copy() for k, v in buffers.items()}
    garbage_slots = observer.entity_slot.copy()

    observer.write(state)

    for i in range(n_slots):
        if status_of[i]:
            t, e, m, act, shown = reference_observation(state, i)
            assert (buffers["tiles"][i] == t).all(), i
            assert (buffers["entities"][i] == e).all(), (i, buffers["entities"][i], e)
            assert (buffers["entity_mask"][i] == m).all(), i
            assert (buffers["action_mask"][i] == act).all(), (i, buffers["action_mask"][i], act)
            assert observer.entity_slot[i].tolist() == shown.tolist(), i
            assert observer.arrays.written[i]
        elif written_before[i]:
            assert not buffers["tiles"][i].any() and not buffers["entities"][i].any()
            assert not buffers["entity_mask"][i].any()
            assert (buffers["action_mask"][i] == only_no_ops(layout)).all()
            assert (observer.entity_slot[i] == -1).all()
            assert not observer.arrays.written[i]
        else:
            for k in buffers:
                assert (buffers[k][i] == garbage[k][i]).all(), (i, k)
            assert (observer.entity_slot[i] == garbage_slots[i]).all()
            assert not observer.arrays.written[i]


# ---------------------------------------------------------------------- live worlds


def test_observer_clear_and_write_on_a_live_world():
    vec = VecEnv(1, "small", seed=3, spawn__mode="concurrent", spawn__n_agents=16, map__size=16)
    vec.reset()
    obs = vec.observations
    state = vec.worlds[0]
    layout = vec.layout
    assert state.npcs.alive.sum() > 0  # NPCs are part of this world's observations
    npc_rows = 0
    for i in range(16):
        t, e, m, a, shown = reference_observation(state, i)
        assert (obs["tiles"][i] == t).all() and (obs["entities"][i] == e).all()
        assert (obs["entity_mask"][i] == m).all() and (obs["action_mask"][i] == a).all()
        assert (vec._entity_slot[i] == shown).all()
        npc_rows += int((shown >= 16).sum())
    assert npc_rows > 0
    observer = Observer(ObsLayout(vec.config), {k: v.copy() for k, v in obs.items()})
    assert observer.entity_slot.shape == (16, layout.n_entities) and observer.entity_slot.dtype == np.int32
    assert (observer.entity_slot == -1).all()
    observer.entity_slot.fill(7)
    observer.clear()
    assert not observer.buffers["tiles"].any() and not observer.buffers["entities"].any()
    assert (observer.buffers["action_mask"] == only_no_ops(layout)).all()
    assert not observer.arrays.written.any()
    assert (observer.entity_slot == -1).all()
    observer.write(state)
    for k in obs:
        assert (observer.buffers[k] == obs[k]).all()


def test_observer_writes_into_a_given_entity_slot_view():
    vec = VecEnv(1, "small", seed=4, spawn__n_agents=8, map__size=12)
    vec.reset()
    big = np.full((3, 8, vec.layout.n_entities), -9, np.int32)
    observer = Observer(vec.layout, {k: np.empty_like(v) for k, v in vec.observations.items()}, big[1])
    assert observer.entity_slot.base is big or np.shares_memory(observer.entity_slot, big)
    observer.clear()
    observer.write(vec.worlds[0])
    assert (big[1] == vec._entity_slot).all() and (big[1][vec.alive, 0] == np.flatnonzero(vec.alive)).all()
    assert (big[0] == -9).all() and (big[2] == -9).all()


def test_observer_entity_slot_names_the_entity_of_every_entity_row():
    vec = VecEnv(
        1, "small", seed=5, map__size=12, spawn__n_agents=24, n_entities=6, vision_radius=3, food_decay=30,
        npc__n_npcs=16, spawn_immunity=0,
    )  # fmt: skip
    vec.reset()
    layout = vec.layout
    state = vec.worlds[0]
    n = vec.slots_per_world
    rng = np.random.default_rng(5)
    observer = Observer(layout, {k: np.empty_like(v) for k, v in vec.observations.items()})
    observer.clear()
    full_rows = npc_rows = attacks = 0
    for _ in range(60):
        actions = np.zeros((n, 2), np.int64)
        actions[:, ActionHead.MOVE] = rng.integers(0, 5, size=n)
        actions[:, ActionHead.ATTACK] = rng.integers(0, layout.action_sizes[ActionHead.ATTACK], size=n)
        vec.step(actions)
        attacks += sum(1 for e in state.events.rows() if e["kind"] == "ATTACK")
        observer.write(state)
        for k in vec.observations:  # the same as the env's own observer
            assert (observer.buffers[k] == vec.observations[k]).all()
        entities, mask, shown = (
            observer.buffers["entities"],
            observer.buffers["entity_mask"],
            observer.entity_slot,
        )
        a, npcs = state.agents, state.npcs
        for i in range(n):
            if not (vec.alive[i] or vec.terminations[i]):
                assert (shown[i] == -1).all()
                continue
            _, ref_rows, ref_mask, _, ref = reference_observation(state, i)
            assert shown[i].tolist() == ref.tolist(), i
            # every row, also those a view with more entities wrote on an earlier tick
            assert (entities[i] == ref_rows).all() and (mask[i] == ref_mask).all(), i
            assert shown[i, 0] == i
            assert ((shown[i] >= 0) == (mask[i] == 1)).all()
            for k in np.flatnonzero(shown[i] >= 0):
                e = shown[i, k]
                t, j = (a, e) if e < n else (npcs, e - n)
                assert (entities[i, k, E.ROW], entities[i, k, E.COL]) == (t.r[j], t.c[j])
                assert entities[i, k, E.HEALTH] == t.health[j]
                if e < n:
                    assert entities[i, k, E.KIND] == EntityKind.PLAYER
                    assert entities[i, k, E.POPULATION] == a.population[j]
                else:
                    assert entities[i, k, E.KIND] == 1 + npcs.behaviour[j]
                    npc_rows += 1
            full_rows += int(mask[i].sum() == layout.n_entities)
    assert full_rows > 0  # crowded enough that some views are cut at n_entities rows
    assert npc_rows > 0 and attacks > 0


def test_the_last_view_of_a_dead_agent_lists_a_newcomer_on_its_tile():
    config = Config().override(
        {"map.size": 5, "map.border": 3, "observe.vision_radius": 2, "observe.n_entities": 4,
         "spawn.n_agents": 2, "npc.n_npcs": 1}
    )  # fmt: skip
    state = WorldState.allocate(config)
    state.material[:] = Material.GRASS
    state.clock[Clock.TICK] = 7
    a = state.agents
    r, c = 3, 3  # a ring tile: the dead agent's last position, where slot 1 just spawned
    a.r[:] = r
    a.c[:] = c
    a.agent_id[:] = [0, 1]
    a.level[:] = 1
    a.death_tick[0] = 7
    a.alive[1] = True
    a.spawn_tick[1] = 7
    state.occupant[r, c] = 1
    npcs = state.npcs  # a neutral NPC next to them
    npcs.alive[0] = True
    npcs.r[0], npcs.c[0] = r, c + 1
    npcs.behaviour[0] = Behaviour.NEUTRAL
    npcs.level[0] = 4
    state.occupant[r, c + 1] = 2
    layout = ObsLayout(config)
    observer = Observer(layout, layout.allocate(2))
    observer.write(state)
    b = observer.buffers
    assert observer.entity_slot[0].tolist() == [0, 1, 2, -1]  # itself, the newcomer, the NPC
    assert (b["entities"][0, 1, E.REL_ROW], b["entities"][0, 1, E.REL_COL]) == (0, 0)
    assert b["tiles"][0, 2, 2, TileChannel.OCCUPANT] == a.population[1] + 1  # the occupant channel agrees
    assert b["tiles"][0, 2, 3, TileChannel.OCCUPANT] == config.spawn.n_populations + Behaviour.NEUTRAL
    assert b["entities"][0, 2, E.KIND] == EntityKind.NEUTRAL_NPC and b["entities"][0, 2, E.LEVEL] == 4
    attack = b["action_mask"][0, layout.action_offsets[ActionHead.ATTACK] :]
    assert attack.tolist() == [1] + [0] * 12  # the dead attack nobody
    assert b["action_mask"][0, :5].tolist() == [1, 0, 0, 0, 0]  # and go nowhere
    assert b["action_mask"][1, :5].tolist() == [1, 1, 1, 0, 1]  # the newcomer there moves (not onto the NPC)
    assert observer.entity_slot[1].tolist() == [1, 2, -1, -1]  # the newcomer does not see the dead agent
    attack = b["action_mask"][1, layout.action_offsets[ActionHead.ATTACK] :].tolist()
    assert attack[1 : 1 + 4] == [0, 1, 0, 0]  # it may strike the NPC in melee reach (row 1) ...
    assert attack[1 + 4 : 1 + 8] == [0, 1, 0, 0] and attack[1 + 8 :] == [
        0,
        1,
        0,
        0,
    ]  # ... and with the others


def test_the_attack_mask_reads_each_style_reach_from_the_rules():
    config = Config().override(
        {"combat.melee_range": 2, "combat.range_range": 3, "combat.mage_range": 4, "npc.sight": 5}
    )
    state = WorldState.allocate(config)
    assert state.rules.derived.style_range == (2, 3, 4)
    observer = Observer(ObsLayout(config), ObsLayout(config).allocate(config.spawn.n_agents))
    assert observer.encoding.head_offsets.tolist() == ObsLayout(config).action_offsets.tolist()


@pytest.mark.parametrize("status", [0, 1, 4])
def test_in_combat_counts_the_coming_ticks_in_combat(status):
    """After tick ``tick``, an entity that last fought at ``fought`` shows how many of the ticks
    tick + 1, tick + 2, ... it is still in combat (t' - fought < status_ticks)."""
    config = Config().override(
        {"map.size": 5, "map.border": 3, "observe.vision_radius": 2, "spawn.n_agents": 1, "npc.n_npcs": 0,
         "combat.status_ticks": status}
    )  # fmt: skip
    state = WorldState.allocate(config)
    state.material[:] = Material.GRASS
    a = state.agents
    a.alive[0], a.r[0], a.c[0], a.level[0] = True, 5, 5, 1
    layout = ObsLayout(config)
    observer = Observer(layout, layout.allocate(1))
    fought = 20
    a.combat_tick[0] = fought
    seen = []
    for tick in range(fought, fought + status + 2):
        state.clock[Clock.TICK] = tick
        observer.write(state)
        seen.append(int(observer.buffers["entities"][0, 0, E.IN_COMBAT]))
    assert seen == [max(0, status - 1 - k) for k in range(status + 2)]
    high = {f.key: f for f in layout.fields}["entities"].high
    assert max(seen) == high[0, E.IN_COMBAT]  # the bound of the space is reached
    a.combat_tick[0] = NEVER
    observer.write(state)
    assert observer.buffers["entities"][0, 0, E.IN_COMBAT] == 0


def test_frozen_agents_may_only_stay():
    config = Config().override(
        {"map.size": 5, "map.border": 3, "observe.vision_radius": 2, "spawn.n_agents": 1}
    )
    state = WorldState.allocate(config)
    state.material[:] = Material.GRASS
    state.clock[Clock.TICK] = 10
    a = state.agents
    a.alive[0], a.r[0], a.c[0], a.level[0] = True, 5, 5, 1
    layout = ObsLayout(config)
    moves = []
    for freeze_until in (NEVER, 10, 11, 12):
        a.freeze_until[0] = freeze_until
        observer = Observer(layout, layout.allocate(1))
        observer.write(state)
        moves.append(observer.buffers["action_mask"][0, :5].tolist())
        frozen = observer.buffers["entities"][0, 0, E.FROZEN]
        assert frozen == max(0, freeze_until - 10)
    assert moves == [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [1, 0, 0, 0, 0]]
