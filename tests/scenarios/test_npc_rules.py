"""NPC rules on drawn maps: behaviours, leash, path search, killing, respawn, danger mapping.

An NPC's draws come from the world's NPC stream (``Stream.NPC``), used by nothing else while
``npc__spawn_attempts`` is 0: each living NPC, in slot order, draws one uniform for an attack roll
(target within reach) or for its wander decision (idle, not frozen, within its leash), plus a
``below(4)`` direction when it wanders. ``PyStream`` replays them, so moves and hits are predicted.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from _support import PyStream, chance_reference, damage_reference, draw, grass, make_scenario, reach_of

from neural_mmo.config import Config
from neural_mmo.observe.layout import EntityColumn, EntityKind
from neural_mmo.world.events import EventKind
from neural_mmo.world.materials import DEADLY, PASSABLE, Material
from neural_mmo.world.rng import Stream
from neural_mmo.world.systems.npc import danger, put_npc, step_toward
from neural_mmo.world.systems.progression import XP_FOR_LEVEL, Skill
from neural_mmo.world.tables import Behaviour
from neural_mmo.world.vocabulary import Style

STEP = {1: (-1, 0), 2: (1, 0), 3: (0, 1), 4: (0, -1)}  # Direction -> (dr, dc)


def cheb(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]))


def enterable(state, r: int, c: int) -> bool:
    m = state.material[r, c]
    return bool(PASSABLE[m] and not DEADLY[m] and state.occupant[r, c] < 0)


def predict_idle(sc, j: int, rng: PyStream) -> tuple[int, int]:
    """Where idle NPC ``j`` (no target, not frozen, within its leash) stands after its turn."""
    state, cfg = sc.state, sc.config
    pos = (int(state.npcs.r[j]), int(state.npcs.c[j]))
    home = (int(state.npcs.home_r[j]), int(state.npcs.home_c[j]))
    assert cheb(pos, home) <= cfg.npc.leash
    if rng.uniform() < cfg.npc.wander_prob:
        dr, dc = STEP[1 + rng.below(4)]
        new = (pos[0] + dr, pos[1] + dc)
        if enterable(state, *new) and cheb(new, home) <= cfg.npc.leash:
            return new
    return pos


def npc_attacks(sc) -> list[tuple[int, int, int]]:
    """``(npc entity, target, damage)`` of this tick's ATTACK events made by NPCs."""
    n = sc.config.spawn.n_agents
    return [(e["slot"], e["other"], e["value"]) for e in sc.events(EventKind.ATTACK) if e["slot"] >= n]


def grid_pos(sc, playable: tuple[int, int]) -> tuple[int, int]:
    return playable[0] + sc.border, playable[1] + sc.border


def bfs_steps(sc, start: tuple[int, int], target: tuple[int, int], reach: int) -> int:
    """4-neighbour steps from ``start`` to the nearest enterable tile within ``reach`` of
    ``target`` (grid coordinates; an independent reference for the hunting rule)."""
    if cheb(start, target) <= reach:
        return 0
    seen = {start}
    queue = deque([(start, 0)])
    while queue:
        (r, c), d = queue.popleft()
        for dr, dc in STEP.values():
            nxt = (r + dr, c + dc)
            if nxt in seen or not enterable(sc.state, *nxt):
                continue
            if cheb(nxt, target) <= reach:
                return d + 1
            seen.add(nxt)
            queue.append((nxt, d + 1))
    raise AssertionError("no path")


# ------------------------------------------------------------------------------------------ passive

PASSIVE_MAP = """
.........
.........
.........
.........
..0.p....
.........
.........
.........
.........
"""


@pytest.mark.parametrize("leash", [1, 2])
def test_a_passive_npc_wanders_within_its_leash(leash):
    grid = [list(row) for row in PASSIVE_MAP.split()]
    grid[4][2] = "."
    grid[0][0] = "0"  # an agent is needed for the world to run; keep it far away in a corner
    sc = make_scenario(draw(grid), npc__leash=leash, food_decay=0, water_decay=0)
    home = (int(sc.state.npcs.home_r[0]), int(sc.state.npcs.home_c[0]))
    visited = set()
    for _ in range(100):
        expected = predict_idle(sc, 0, PyStream(sc.state.streams[Stream.NPC]))
        sc.step()
        pos = (int(sc.state.npcs.r[0]), int(sc.state.npcs.c[0]))
        assert pos == expected
        assert cheb(pos, home) <= leash
        visited.add(pos)
        assert npc_attacks(sc) == []
    assert len(visited) >= 4  # it really moves around
    assert max(cheb(p, home) for p in visited) == leash  # and uses its whole leash


def test_a_passive_npc_never_fights_back():
    sc = make_scenario(PASSIVE_MAP, npc_level=30, npc__leash=1, food_decay=0, water_decay=0)
    npc = sc.npc_entity(0)
    hits = 0
    visited = set()
    for _ in range(60):
        expected = predict_idle(sc, 0, PyStream(sc.state.streams[Stream.NPC]))
        sc.step(attacks={0: (Style.RANGE, npc)})  # every tile of its leash is within range reach
        assert sc.vec.invalid_actions[0] == 0
        hits += sum(e["value"] > 0 for e in sc.events(EventKind.ATTACK))
        assert [(e["slot"], e["other"]) for e in sc.events(EventKind.ATTACK)] == [(0, npc)]
        assert sc.npc(0)["target"] == -1
        assert sc.npc_pos(0) == (expected[0] - sc.border, expected[1] - sc.border)
        visited.add(sc.npc_pos(0))
    assert hits > 0 and sc.npc(0)["alive"]  # it was hurt, and survived
    assert len(visited) >= 2  # attacked, it still only wanders
    assert sc.agent(0)["health"] == sc.config.vitals.max_health


# ------------------------------------------------------------------------------------------ neutral

NEUTRAL_MAP = """
.......
.......
.......
..0n...
.......
.......
.......
"""


def test_a_neutral_npc_ignores_agents_until_attacked_then_fights_its_attacker():
    sc = make_scenario(
        NEUTRAL_MAP, npc_level=10, npc__wander_prob=0.0, food_decay=0, water_decay=0, spawn_immunity=0
    )
    npc = sc.npc_entity(0)
    cfg = sc.config
    sc.state.agents.max_health[0] = sc.state.agents.health[0] = 30_000  # survives the whole fight
    for _ in range(10):
        sc.step()
        assert npc_attacks(sc) == []
        assert sc.npc(0)["target"] == -1
    assert sc.agent(0)["health"] == 30_000
    assert sc.npc_pos(0) == (3, 3)  # next to the agent all along
    sc.step(attacks={0: (Style.RANGE, npc)})  # hit or miss, it now fights back, this very tick
    assert sc.npc(0)["target"] == 0 and sc.npc(0)["target_id"] == sc.agent(0)["agent_id"]
    assert [a[:2] for a in npc_attacks(sc)] == [(npc, 0)]
    health = sc.agent(0)["health"]
    hits = 0
    for _ in range(12):  # the agent stops; the NPC keeps attacking it
        defence = sc.agent(0)["level"][Skill.DEFENCE]
        rng = PyStream(sc.state.streams[Stream.NPC])
        # the agent last attacked with range; the NPC fights with melee, which beats range
        expected = 0
        if rng.uniform() < chance_reference(cfg, 10, defence):
            expected = damage_reference(cfg, Style.MELEE, 10, defence, weak=True)
        health -= expected
        sc.step()
        assert npc_attacks(sc) == [(npc, 0, expected)]
        assert sc.agent(0)["health"] == health  # in combat: no regeneration
        hits += expected > 0
    assert hits > 0


def test_a_neutral_npc_killed_by_its_first_attacker_does_not_strike_back():
    sc = make_scenario(NEUTRAL_MAP, npc__wander_prob=0.0, spawn_immunity=0)
    npc = sc.npc_entity(0)
    sc.state.npcs.health[0] = 1
    sc.state.agents.level[0, Skill.MELEE] = 99
    for _ in range(50):
        sc.step(attacks={0: (Style.MELEE, npc)})
        if sc.events(EventKind.KILL):
            break
    assert npc_attacks(sc) == []
    assert sc.agent(0)["health"] == sc.config.vitals.max_health


# ------------------------------------------------------------------------------------------ hostile

WALL_MAP = """
.........
.........
....#....
..0.#.h..
....#....
.........
.........
.........
.........
"""


@pytest.mark.parametrize("style", [Style.MELEE, Style.RANGE, Style.MAGE])
def test_a_hostile_npc_hunts_the_agent_around_a_wall_then_attacks(style):
    sc = make_scenario(WALL_MAP, npc_style=style, food_decay=0, water_decay=0)
    cfg = sc.config
    npc = sc.npc_entity(0)
    agent = grid_pos(sc, sc.pos(0))
    reach = reach_of(cfg, style)
    steps = bfs_steps(sc, grid_pos(sc, sc.npc_pos(0)), agent, reach)
    assert steps == {Style.MELEE: 6, Style.RANGE: 1, Style.MAGE: 0}[style]  # the drawing's geometry
    path = [sc.npc_pos(0)]
    for tick in range(1, steps + 1):
        sc.step()
        assert npc_attacks(sc) == []
        pos = sc.npc_pos(0)
        assert abs(pos[0] - path[-1][0]) + abs(pos[1] - path[-1][1]) == 1  # one step a tick
        assert sc.material_at(*pos) == Material.GRASS
        assert bfs_steps(sc, grid_pos(sc, pos), agent, reach) == steps - tick  # a shortest path
        assert sc.npc(0)["target"] == 0
        path.append(pos)
    if style == Style.MELEE:
        assert any(r != 3 for r, _ in path)  # it went around the wall
    for _ in range(3):
        sc.step()
        assert [a[:2] for a in npc_attacks(sc)] == [(npc, 0)]
        assert sc.npc_pos(0) == path[-1]  # in reach: it stands and fights


def test_a_hostile_npc_attack_follows_the_combat_formulas():
    sc = make_scenario(
        """
        .....
        .....
        .0h..
        .....
        .....
        """,
        npc_level=40,
        npc_style=Style.MAGE,
        food_decay=0,
        water_decay=0,
    )
    cfg = sc.config
    sc.state.agents.max_health[0] = sc.state.agents.health[0] = 30_000
    sc.state.agents.style[0] = Style.MELEE  # mage beats melee
    sc.refresh()
    health = 30_000
    hits = 0
    for _ in range(20):
        defence = sc.agent(0)["level"][Skill.DEFENCE]
        rng = PyStream(sc.state.streams[Stream.NPC])
        expected = 0
        if rng.uniform() < chance_reference(cfg, 40, defence):
            expected = damage_reference(cfg, Style.MAGE, 40, defence, weak=True)
        xp = sc.agent(0)["xp"][Skill.DEFENCE]
        sc.step()
        assert npc_attacks(sc) == [(sc.npc_entity(0), 0, expected)]
        health -= expected
        assert sc.agent(0)["health"] == health
        pr = cfg.progression
        assert sc.agent(0)["xp"][Skill.DEFENCE] - xp == round(
            pr.xp_scale * pr.defence_xp_per_damage * expected
        )
        hits += expected > 0
    assert hits > 0


@pytest.mark.parametrize("health", [1, 30_000])
def test_an_npc_blow_gives_defence_xp_unless_it_kills(health):
    """The agent's defence XP is one short of level 2: a hit it survives levels it up, a killing
    blow gives nothing."""
    sc = make_scenario(
        """
        .....
        .....
        .0h..
        .....
        .....
        """,
        npc_level=40, food_decay=0, water_decay=0,
    )  # fmt: skip
    cfg = sc.config
    a = sc.state.agents
    a.max_health[0] = max(health, cfg.vitals.max_health)
    a.health[0] = health
    short = XP_FOR_LEVEL[1] - 1  # one XP short of defence level 2
    a.xp[0, Skill.DEFENCE] = short
    for _ in range(100):
        rng = PyStream(sc.state.streams[Stream.NPC])
        if rng.uniform() < chance_reference(cfg, 40, 1):
            break
        sc.step()  # a miss: no XP, and no regeneration (in combat)
        assert npc_attacks(sc) == [(sc.npc_entity(0), 0, 0)] and a.xp[0, Skill.DEFENCE] == short
    else:
        raise AssertionError("the NPC never hits")
    damage = min(damage_reference(cfg, Style.MELEE, 40, 1, weak=False), health)
    sc.step()
    assert npc_attacks(sc) == [(sc.npc_entity(0), 0, damage)]
    ups = [(e["slot"], e["detail"], e["value"]) for e in sc.events(EventKind.LEVEL_UP)]
    if health == 1:
        assert [e["slot"] for e in sc.events(EventKind.DEATH)] == [0]
        assert ups == [] and a.xp[0, Skill.DEFENCE] == short and a.level[0, Skill.DEFENCE] == 1
    else:
        pr = cfg.progression
        assert sc.events(EventKind.DEATH) == [] and a.alive[0]
        assert a.xp[0, Skill.DEFENCE] == short + round(pr.xp_scale * pr.defence_xp_per_damage * damage)
        assert ups == [(0, Skill.DEFENCE, 2)]


def test_a_hostile_npc_only_searches_its_sight_square():
    """The only way round the wall leaves the NPC's search square: it finds no path, drops its
    target and acts idle (here: it never wanders, so it stays put); with the gap inside the
    square it hunts."""

    def walled(gap_row: int) -> str:
        grid = grass(15)
        for r in range(15):
            grid[r][4] = "#"
        grid[gap_row][4] = "."
        grid[7][2] = "0"
        grid[7][6] = "h"
        return draw(grid)

    sight = Config().npc.sight
    far = 7 + sight + 2  # the gap lies outside the square of side 2 sight + 1 around the NPC
    sc = make_scenario(walled(far), npc__wander_prob=0.0, food_decay=0, water_decay=0)
    assert cheb(sc.pos(0), sc.npc_pos(0)) <= sight  # it sees its prey
    for _ in range(10):
        sc.step()
        assert sc.npc_pos(0) == (7, 6)
        assert sc.npc(0)["target"] == -1 and sc.npc(0)["target_id"] == -1  # it gave up
        assert npc_attacks(sc) == []
    near = 7 + sight  # the gap on the square's edge: a path inside the square exists
    sc = make_scenario(walled(near), npc__wander_prob=0.0, food_decay=0, water_decay=0)
    sc.step()
    assert sc.npc_pos(0) != (7, 6)
    assert sc.npc(0)["target"] == 0 and sc.npc(0)["target_id"] == sc.agent(0)["agent_id"]


MOAT_MAP = """
...........
...........
...........
...~~~~~...
...~...~...
...~.0.~...
...~...~...
...~~~~~...
...........
...........
.h.........
"""


def test_a_hostile_npc_with_an_unreachable_prey_gives_up_and_wanders():
    """The agent sits inside a moat, in the NPC's sight but out of its melee reach and beyond any
    path: every tick the NPC picks it, finds no path, drops it and wanders as an idle NPC does."""
    sc = make_scenario(MOAT_MAP, npc_style=Style.MELEE, npc__leash=2, food_decay=0, water_decay=0)
    cfg = sc.config
    assert cfg.npc.wander_prob > 0
    agent = grid_pos(sc, sc.pos(0))
    visited = set()
    for _ in range(60):
        pos = (int(sc.state.npcs.r[0]), int(sc.state.npcs.c[0]))
        assert reach_of(cfg, Style.MELEE) < cheb(pos, agent) <= cfg.npc.sight  # seen, out of reach
        visited.add(pos)
        expected = predict_idle(sc, 0, PyStream(sc.state.streams[Stream.NPC]))
        sc.step()
        assert (int(sc.state.npcs.r[0]), int(sc.state.npcs.c[0])) == expected
        assert sc.npc(0)["target"] == -1 and sc.npc(0)["target_id"] == -1
        assert npc_attacks(sc) == []
    assert len(visited) >= 3  # it did not stand still in front of its prey
    assert sc.agent(0)["health"] == cfg.vitals.max_health


def test_a_hostile_npc_with_an_unreachable_prey_walks_home_when_beyond_its_leash():
    sc = make_scenario(MOAT_MAP, npc__leash=1, food_decay=0, water_decay=0)
    leash = sc.config.npc.leash
    b = sc.border
    sc.state.npcs.home_r[0] = 10 + b  # as if it had chased its prey up from the bottom-right corner
    sc.state.npcs.home_c[0] = 10 + b
    home = (10, 10)
    assert cheb(sc.npc_pos(0), sc.pos(0)) <= sc.config.npc.sight
    manhattan = abs(10 - 10) + abs(1 - 10)
    while cheb(sc.npc_pos(0), home) > leash:
        sc.step()
        assert sc.npc(0)["target"] == -1
        gap = abs(sc.npc_pos(0)[0] - home[0]) + abs(sc.npc_pos(0)[1] - home[1])
        assert gap == manhattan - 1  # straight home, one step a tick
        manhattan = gap
    assert sc.state.tick == (10 - 1) - leash
    assert npc_attacks(sc) == []


def test_a_neutral_npc_attacked_across_water_drops_its_attacker():
    sc = make_scenario(
        """
        ..~....
        ..~....
        ..~....
        .0~n...
        ..~....
        ..~....
        ..~....
        """,
        npc__wander_prob=0.0, food_decay=0, water_decay=0, spawn_immunity=0,
    )  # fmt: skip
    npc = sc.npc_entity(0)
    for _ in range(3):
        sc.step(attacks={0: (Style.RANGE, npc)})  # within range reach, beyond its melee reach
        assert [(e["slot"], e["other"]) for e in sc.events(EventKind.ATTACK)] == [(0, npc)]
        assert sc.npc(0)["target"] == -1 and sc.npc(0)["target_id"] == -1  # no path: dropped
        assert sc.npc_pos(0) == (3, 3)
    sc.step()
    assert sc.npc(0)["target"] == -1 and sc.events(EventKind.ATTACK) == []


def test_step_toward_searches_only_the_square_around_the_start():
    side, radius = 21, 3
    material = np.full((side, side), Material.GRASS, np.uint8)
    material[:, 8] = Material.STONE  # a wall between start and target ...
    material[side - 1, 8] = Material.GRASS  # ... with a gap far below
    occupant = np.full((side, side), -1, np.int32)
    search = np.zeros((2, (2 * radius + 1) ** 2), np.int32)
    assert step_toward(material, occupant, 10, 9, 10, 6, 1, radius, search) == 0
    assert step_toward(material, occupant, 10, 9, 10, 6, 1, 12, np.zeros((2, 25 * 25), np.int32)) == 2
    material[13, 8] = Material.GRASS  # a gap on the edge of the radius-3 square
    assert step_toward(material, occupant, 10, 9, 10, 6, 1, radius, search) == 2  # south, toward it
    material[10, 8] = Material.GRASS  # a straight way
    assert step_toward(material, occupant, 10, 9, 10, 6, 1, radius, search) == 4  # west


# -------------------------------------------------------------------------------------------- leash


def test_an_npc_beyond_its_leash_walks_home():
    grid = grass(11)
    grid[0][0] = "0"
    grid[9][8] = "p"
    sc = make_scenario(draw(grid), npc__leash=2, food_decay=0, water_decay=0)
    sc.state.npcs.home_r[0] = 2 + sc.border  # as if it had been chased far from home
    sc.state.npcs.home_c[0] = 3 + sc.border
    home = (2, 3)
    leash = sc.config.npc.leash
    manhattan = abs(9 - 2) + abs(8 - 3)
    while cheb(sc.npc_pos(0), home) > leash:
        sc.step()
        gap = abs(sc.npc_pos(0)[0] - home[0]) + abs(sc.npc_pos(0)[1] - home[1])
        assert gap == manhattan - 1  # straight back, one step a tick
        manhattan = gap
    # the direct way: each step closes one of the two gaps, and both must end within the leash
    assert sc.state.tick == (abs(9 - 2) - leash) + (abs(8 - 3) - leash)
    for _ in range(40):
        sc.step()
        assert cheb(sc.npc_pos(0), home) <= leash


# ------------------------------------------------------------------------------------- NPC regen


def test_an_npc_regenerates_when_out_of_combat():
    sc = make_scenario(PASSIVE_MAP, npc__leash=1, food_decay=0, water_decay=0, spawn_immunity=0)
    npc = sc.npc_entity(0)
    cfg = sc.config
    regen, status = cfg.regen_amount, cfg.combat.status_ticks
    assert status >= 2 and 20 + 2 * regen <= sc.npc(0)["max_health"]
    sc.state.npcs.health[0] = 20
    sc.step(attacks={0: (Style.RANGE, npc)})  # in combat from this tick (tick 1)
    health = sc.npc(0)["health"]
    assert health <= 20

    def countdown() -> int:
        return int(sc.obs(0)["entities"][sc.row_of(0, npc), EntityColumn.IN_COMBAT])

    assert countdown() == status - 1  # ticks 2 .. status are still in combat
    for tick in range(2, status + 1):
        sc.step()
        assert sc.npc(0)["health"] == health  # in combat: no regeneration
        assert countdown() == status - tick
    assert countdown() == 0
    sc.step()  # the first tick out of combat
    assert sc.npc(0)["health"] == health + regen
    assert countdown() == 0
    sc.step()
    assert sc.npc(0)["health"] == health + 2 * regen


# --------------------------------------------------------------------------------- killing an NPC


@pytest.mark.parametrize("attempts", [0, 4])
def test_killing_an_npc(attempts):
    sc = make_scenario(
        """
        ......
        ......
        ..0p..
        ......
        ......
        ......
        """,
        npc_level=12,
        npc__spawn_attempts=attempts,
        npc__wander_prob=0.0,
    )
    npc = sc.npc_entity(0)
    npc_id = sc.npc(0)["npc_id"]
    tile = grid_pos(sc, sc.npc_pos(0))
    sc.state.npcs.health[0] = 1
    sc.state.agents.level[0, Skill.RANGE] = 99
    sc.refresh()
    assert sc.obs(0)["entities"][sc.row_of(0, npc), EntityColumn.KIND] == EntityKind.PASSIVE_NPC
    for _ in range(50):
        sc.step(attacks={0: (Style.RANGE, npc)})
        if sc.events(EventKind.KILL):
            break
    kills = sc.events(EventKind.KILL)
    assert [(e["slot"], e["other"], e["other_id"], e["detail"], e["value"]) for e in kills] == [
        (0, npc, npc_id, Style.RANGE, 12)
    ]
    assert sc.events(EventKind.DEATH) == []  # DEATH is for agents
    # it left the map at the end of the tick, and its slot is not reused on that tick
    assert not sc.npc(0)["alive"] and sc.npc(0)["death_tick"] == sc.state.tick
    assert sc.state.occupant[tile] == -1
    assert sc.events(EventKind.NPC_SPAWN) == []
    assert npc not in sc.vec._entity_slot[0].tolist()
    assert sc.obs(0)["entity_mask"].tolist()[1] == 0
    assert sc.vec.terminations[0] == 0 and sc.agent(0)["alive"]
    killed_at = sc.state.tick
    for _ in range(10):
        sc.step()
        if sc.npc(0)["alive"]:
            break
    if attempts == 0:
        assert not sc.npc(0)["alive"]  # no respawns
    else:
        spawns = sc.events(EventKind.NPC_SPAWN)
        assert sc.state.tick > killed_at
        assert [(e["slot"], e["agent_id"]) for e in spawns] == [(npc, npc_id + 1)]  # a new NPC, new id
        assert sc.state.occupant[int(sc.state.npcs.r[0]), int(sc.state.npcs.c[0])] == npc


def test_npcs_respawn_up_to_the_cap_and_no_further():
    cap, attempts = 6, 2
    sc = make_scenario(
        "\n".join(["0" + "." * 9] + ["." * 10] * 8 + [".........p"]),
        npc__n_npcs=cap,
        npc__spawn_attempts=attempts,
        food_decay=0,
        water_decay=0,
    )
    assert int(sc.state.npcs.alive.sum()) == 1
    counts = []
    for _ in range(40):
        before = int(sc.state.npcs.alive.sum())
        sc.step()
        after = int(sc.state.npcs.alive.sum())
        spawns = sc.events(EventKind.NPC_SPAWN)
        assert len(spawns) == after - before <= attempts  # never more attempts than allowed
        if before == cap:
            assert spawns == []
        counts.append(after)
        ids = sc.state.npcs.npc_id[sc.state.npcs.alive]
        assert len(set(ids.tolist())) == after
    assert counts[-1] == cap
    assert counts == sorted(counts)
    occupied = sc.state.occupant[sc.state.occupant >= sc.config.spawn.n_agents]
    assert sorted(occupied.tolist()) == [sc.config.spawn.n_agents + j for j in range(cap)]


# ------------------------------------------------------------------------------- placing by hand

PUT_MAP = """
p......
.~#L...
.......
.0.....
.......
.......
.......
"""


def put_npc_scenario():
    return make_scenario(PUT_MAP, npc__n_npcs=3, progression__max_level=50)


@pytest.mark.parametrize(
    "where,behaviour,level,style,fragment",
    [
        ((5, 5), 0, 5, Style.MAGE, "behaviour"),
        ((5, 5), max(Behaviour) + 1, 5, Style.MAGE, "behaviour"),
        ((5, 5), Behaviour.HOSTILE, 5, 0, "style"),
        ((5, 5), Behaviour.HOSTILE, 5, Style.MAGE + 1, "style"),
        ((5, 5), Behaviour.HOSTILE, 0, Style.MAGE, "level"),
        ((5, 5), Behaviour.HOSTILE, 51, Style.MAGE, "level"),  # max_level is 50 here
        ((-1, 2), Behaviour.HOSTILE, 5, Style.MAGE, "outside the playable area"),  # the border ring
        ((2, 7), Behaviour.HOSTILE, 5, Style.MAGE, "outside the playable area"),
        ((3, 1), Behaviour.HOSTILE, 5, Style.MAGE, "occupied"),  # the agent
        ((0, 0), Behaviour.HOSTILE, 5, Style.MAGE, "occupied"),  # the NPC
        ((1, 1), Behaviour.HOSTILE, 5, Style.MAGE, "not spawnable"),  # water
        ((1, 2), Behaviour.HOSTILE, 5, Style.MAGE, "not spawnable"),  # stone
        ((1, 3), Behaviour.HOSTILE, 5, Style.MAGE, "not spawnable"),  # lava
    ],
)
def test_put_npc_rejects_values_outside_the_rules_and_leaves_the_world_alone(
    where, behaviour, level, style, fragment
):
    sc = put_npc_scenario()
    b = sc.border
    r, c = where[0] + b, where[1] + b
    sc.state.material[b - 1, :] = Material.GRASS  # the border ring is out of bounds whatever it is
    sc.state.material[:, b + 7] = Material.GRASS
    before = sc.state.state_hash()
    events = sc.state.events.rows()
    with pytest.raises(ValueError, match=fragment):
        put_npc(sc.state, r, c, behaviour, level, style)
    assert sc.state.state_hash() == before
    assert sc.state.events.rows() == events
    # the call every case above spoils in one argument succeeds
    assert put_npc(sc.state, 5 + b, 5 + b, Behaviour.HOSTILE, 5, Style.MAGE) == sc.npc_entity(1)
    assert sc.state.state_hash() != before


def test_put_npc_far_outside_the_grid_is_a_value_error_not_an_index_error():
    sc = put_npc_scenario()
    side = sc.config.grid_side
    before = sc.state.state_hash()
    for r, c in ((-1, 10), (10, -1), (side, 10), (10, side), (-side - 1, 10)):
        with pytest.raises(ValueError, match="outside the playable area"):
            put_npc(sc.state, r, c, Behaviour.PASSIVE, 1, Style.MELEE)
    assert sc.state.state_hash() == before


def test_put_npc_fills_the_lowest_free_slot_then_refuses():
    sc = put_npc_scenario()
    b = sc.border
    cfg = sc.config
    assert sc.state.npcs.capacity == 3 and sc.npc(0)["alive"]
    entity = put_npc(sc.state, 5 + b, 5 + b, Behaviour.NEUTRAL, cfg.progression.max_level, Style.RANGE)
    assert entity == sc.npc_entity(1)
    npc = sc.npc(1)
    assert (npc["behaviour"], npc["style"]) == (Behaviour.NEUTRAL, Style.RANGE)
    assert npc["level"] == [50] * len(Skill)
    top = cfg.vitals.max_health + cfg.progression.health_per_level * (50 - 1)
    assert npc["max_health"] == npc["health"] == top
    assert sc.state.occupant[5 + b, 5 + b] == entity
    assert [(e["slot"], e["value"], e["detail"]) for e in sc.events(EventKind.NPC_SPAWN)][-1] == (
        entity, Behaviour.NEUTRAL, 50,
    )  # fmt: skip
    assert put_npc(sc.state, 6 + b, 6 + b, Behaviour.PASSIVE, 1, Style.MELEE) == sc.npc_entity(2)
    before = sc.state.state_hash()
    with pytest.raises(ValueError, match="slots"):
        put_npc(sc.state, 4 + b, 4 + b, Behaviour.PASSIVE, 1, Style.MELEE)
    assert sc.state.state_hash() == before


def test_an_npc_max_health_stops_at_the_int16_top():
    sc = make_scenario(PUT_MAP, npc_level=99, vitals__max_health=10_000, health_per_level=10_000)
    cfg = sc.config
    assert cfg.vitals.max_health + cfg.progression.health_per_level * (99 - 1) > 32767
    assert sc.npc(0)["max_health"] == sc.npc(0)["health"] == 32767
    assert sc.obs(0)["entities"][sc.row_of(0, sc.npc_entity(0)), EntityColumn.HEALTH] == 32767


# --------------------------------------------------------------------------------- danger mapping


@pytest.mark.parametrize("size", [5, 9, 21, 64])
def test_danger_is_zero_on_the_edge_ring_and_one_at_the_centre(size):
    border = 8
    lo, hi = border, border + size - 1
    ring = [(lo, c) for c in range(lo, hi + 1)] + [(hi, c) for c in range(lo, hi + 1)]
    ring += [(r, lo) for r in range(lo, hi + 1)] + [(r, hi) for r in range(lo, hi + 1)]
    assert all(danger(r, c, border, size) == 0.0 for r, c in ring)
    half = (size - 1) / 2
    for r in range(lo, hi + 1):
        for c in range(lo, hi + 1):
            expected = 1 - max(abs(r - border - half), abs(c - border - half)) / half
            assert danger(r, c, border, size) == pytest.approx(expected)
    if size % 2:
        mid = border + size // 2
        assert danger(mid, mid, border, size) == 1.0
    else:
        mid = border + size // 2
        assert danger(mid, mid, border, size) == pytest.approx(1 - 0.5 / half)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"npc__passive_below": 0.2, "npc__neutral_below": 0.9, "npc__edge_level": 5, "npc__centre_level": 60},
    ],
)
def test_spawned_npcs_take_behaviour_and_level_from_the_danger_of_their_tile(overrides):
    size = 21
    grid = grass(size)
    grid[0][0] = "0"
    sc = make_scenario(draw(grid), npc__n_npcs=200, health_per_level=3, **overrides)
    cfg = sc.config
    npcs = sc.state.npcs
    alive = np.flatnonzero(npcs.alive)
    assert len(alive) >= 150  # 800 attempts on 440 free tiles
    half = (size - 1) / 2
    behaviours, styles = set(), set()
    spawn_events = {e["slot"]: e for e in sc.events(EventKind.NPC_SPAWN)}
    for j in alive:
        r, c = int(npcs.r[j]) - sc.border, int(npcs.c[j]) - sc.border
        x = 1 - max(abs(r - half), abs(c - half)) / half
        if x < cfg.npc.passive_below:
            behaviour = Behaviour.PASSIVE
        elif x < cfg.npc.neutral_below:
            behaviour = Behaviour.NEUTRAL
        else:
            behaviour = Behaviour.HOSTILE
        level = round(cfg.npc.edge_level + (cfg.npc.centre_level - cfg.npc.edge_level) * x)
        assert npcs.behaviour[j] == behaviour, (r, c, x)
        assert npcs.level[j].tolist() == [level] * len(Skill), (r, c, x)
        max_health = cfg.vitals.max_health + cfg.progression.health_per_level * (level - 1)
        assert npcs.max_health[j] == npcs.health[j] == max_health
        assert (npcs.home_r[j], npcs.home_c[j]) == (npcs.r[j], npcs.c[j])
        assert 1 <= npcs.style[j] <= 3
        event = spawn_events[sc.npc_entity(int(j))]
        assert (event["value"], event["detail"]) == (behaviour, level)
        behaviours.add(behaviour)
        styles.add(int(npcs.style[j]))
    assert behaviours == set(Behaviour)
    assert styles == {1, 2, 3}
    assert sc.state.occupant[sc.border, sc.border] == 0  # nobody spawned on the agent


def test_a_hand_placed_npc_spawn_event_names_its_behaviour_and_level():
    sc = make_scenario(
        """
        h....
        .....
        ..0..
        .....
        .....
        """,
        npc_level=7,
    )
    spawns = sc.events(EventKind.NPC_SPAWN)
    assert sc.npc(0)["behaviour"] == Behaviour.HOSTILE and sc.npc(0)["level"][0] == 7
    # only the hand-placed NPC's spawn is logged (the ones the rules placed at reset were dropped)
    assert [(e["agent_id"], e["value"], e["detail"]) for e in spawns] == [(0, Behaviour.HOSTILE, 7)]
