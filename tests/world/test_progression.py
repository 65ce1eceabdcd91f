"""Progression: the experience table, levels from XP, XP gains, LEVEL_UP events, and what levels do.

The table is recomputed here from the public RuneScape formula (exact integer arithmetic where
the formula allows it), never read back from the package.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _support import draw, grass, make_scenario, rules

from neural_mmo.config import Config
from neural_mmo.world.events import EventKind, EventLog
from neural_mmo.world.systems.progression import (
    MAX_LEVEL,
    XP_FOR_LEVEL,
    Skill,
    gain_xp,
    level_for_xp,
    max_health_at,
    xp_table,
)
from neural_mmo.world.tables import AgentTable
from neural_mmo.world.vocabulary import Direction


def reference_table(max_level: int = 99) -> dict[int, int]:
    """{level: XP needed}: ``floor(sum_{l=1}^{L-1} floor(l + 300 * 2^(l/7)) / 4)``."""
    table = {1: 0}
    points = 0
    for level in range(1, max_level):
        points += math.floor(level + 300 * 2 ** (level / 7))
        table[level + 1] = points // 4
    return table


REFERENCE = reference_table()
BOUNDARY_LEVELS = (2, 50, 98, 99)


# ------------------------------------------------------------------------------------- the table


def test_the_table_matches_the_public_formula_at_every_level():
    assert len(XP_FOR_LEVEL) == MAX_LEVEL == 99
    assert [int(x) for x in XP_FOR_LEVEL] == [REFERENCE[level] for level in range(1, 100)]


def test_the_table_at_well_known_levels():
    # values every RuneScape player knows; the formula above must reproduce them
    known = {1: 0, 2: 83, 3: 174, 10: 1_154, 50: 101_333, 92: 6_517_253, 98: 11_805_606, 99: 13_034_431}
    for level, xp in known.items():
        assert REFERENCE[level] == xp, level
        assert XP_FOR_LEVEL[level - 1] == xp, level


def test_the_table_strictly_increases():
    assert np.all(np.diff(XP_FOR_LEVEL) > 0)


def test_a_shorter_table_is_a_prefix():
    assert np.array_equal(xp_table(20), XP_FOR_LEVEL[:20])


def test_level_one_starts_at_zero_xp():
    assert level_for_xp(0, 99) == 1
    assert level_for_xp(REFERENCE[2] - 1, 99) == 1


@pytest.mark.parametrize("level", BOUNDARY_LEVELS)
def test_level_for_xp_at_each_boundary(level):
    boundary = REFERENCE[level]
    assert level_for_xp(boundary - 1, 99) == level - 1
    assert level_for_xp(boundary, 99) == level
    if level < 99:
        assert level_for_xp(REFERENCE[level + 1] - 1, 99) == level


def test_level_99_is_the_ceiling():
    assert level_for_xp(REFERENCE[99] * 10, 99) == 99
    assert level_for_xp(2**31 - 1, 99) == 99


def test_a_lower_max_level_caps_the_level():
    assert level_for_xp(REFERENCE[50], 40) == 40
    assert level_for_xp(REFERENCE[40] - 1, 40) == 39
    assert level_for_xp(REFERENCE[40], 40) == 40


def test_every_level_from_its_xp():
    for level in range(1, 100):
        assert level_for_xp(REFERENCE[level], 99) == level
        if level > 1:
            assert level_for_xp(REFERENCE[level] - 1, 99) == level - 1


# -------------------------------------------------------------------------------------- gain_xp


def fresh_agents(n: int = 2) -> AgentTable:
    """Agents as the spawn rules leave them: every skill at level 1 with 0 XP."""
    agents = AgentTable.empty(n)
    agents.alive[:] = True
    agents.agent_id[:] = np.arange(n) + 100
    agents.level[:] = 1
    agents.max_health[:] = Config().vitals.max_health
    agents.health[:] = agents.max_health
    return agents


def gain(agents: AgentTable, i: int, skill: int, rate: float, amount: float, events: EventLog, p) -> None:
    """``gain_xp`` on agent ``i`` of a table (the kernel takes the table's columns)."""
    gain_xp(agents.xp, agents.level, agents.max_health, i, skill, rate, amount, int(agents.agent_id[i]),
            int(agents.r[i]), int(agents.c[i]), events, p)  # fmt: skip


def level_ups(events: EventLog) -> list[tuple[int, int, int]]:
    """``(slot, new level, skill)`` of each LEVEL_UP event."""
    return [(e["slot"], e["value"], e["detail"]) for e in events.rows() if e["kind"] == "LEVEL_UP"]


@pytest.mark.parametrize(
    "xp_scale,rate,amount",
    [(1.0, 4.0, 7), (1.0, 1.33, 7), (1.0, 2.0, 13), (2.5, 1.33, 3), (0.5, 4.0, 9), (1.0, 10.0, 1.0)],
)
def test_a_gain_is_round_of_scale_times_rate_times_amount(xp_scale, rate, amount):
    p = rules(progression__xp_scale=xp_scale)
    agents, events = fresh_agents(), EventLog.empty(32)
    agents.xp[1, Skill.RANGE] = 5
    gain(agents, 1, Skill.RANGE, rate, amount, events, p)
    assert agents.xp[1, Skill.RANGE] == 5 + round(xp_scale * rate * amount)
    assert agents.xp[0].sum() == 0  # only the named agent
    assert agents.xp[1].sum() == agents.xp[1, Skill.RANGE]  # and only the named skill


def test_a_gain_that_rounds_to_zero_changes_nothing():
    p = rules(progression__xp_scale=0.1)
    agents, events = fresh_agents(), EventLog.empty(32)
    gain(agents, 0, Skill.MELEE, 1.0, 4, events, p)  # round(0.4) = 0
    assert agents.xp[0, Skill.MELEE] == 0 and events.n == 0
    gain(agents, 0, Skill.MELEE, 4.0, 0, events, rules())  # no damage, no XP
    assert agents.xp[0, Skill.MELEE] == 0 and events.n == 0


def test_crossing_a_boundary_logs_one_level_up_with_the_new_level():
    p = rules()
    agents, events = fresh_agents(), EventLog.empty(32)
    agents.xp[0, Skill.MAGE] = REFERENCE[2] - 4
    gain(agents, 0, Skill.MAGE, 1.0, 3, events, p)  # one short of level 2
    assert agents.level[0, Skill.MAGE] == 1 and events.n == 0
    agents.r[0], agents.c[0] = 12, 17
    gain(agents, 0, Skill.MAGE, 1.0, 1, events, p)  # exactly the boundary
    assert agents.level[0, Skill.MAGE] == 2
    assert level_ups(events) == [(0, 2, Skill.MAGE)]
    (event,) = events.rows()
    assert (event["agent_id"], event["r"], event["c"], event["other"]) == (agents.agent_id[0], 12, 17, -1)


def test_a_gain_across_several_boundaries_logs_the_final_level_once():
    p = rules()
    agents, events = fresh_agents(), EventLog.empty(32)
    gain(agents, 1, Skill.DEFENCE, 1.0, REFERENCE[50] + 1, events, p)
    assert agents.level[1, Skill.DEFENCE] == 50
    assert level_ups(events) == [(1, 50, Skill.DEFENCE)]


def test_level_98_to_99():
    p = rules()
    agents, events = fresh_agents(), EventLog.empty(32)
    agents.xp[0, Skill.HUNTING] = REFERENCE[99] - 1
    agents.level[0, Skill.HUNTING] = 98
    gain(agents, 0, Skill.HUNTING, 1.0, 1, events, p)
    assert agents.level[0, Skill.HUNTING] == 99
    assert level_ups(events) == [(0, 99, Skill.HUNTING)]
    gain(agents, 0, Skill.HUNTING, 1.0, 10**6, events, p)  # no level 100
    assert agents.level[0, Skill.HUNTING] == 99
    assert len(level_ups(events)) == 1


def test_xp_saturates_at_the_int32_limit():
    p = rules(progression__xp_scale=1000.0)
    agents, events = fresh_agents(), EventLog.empty(32)
    agents.xp[0, Skill.MELEE] = 2**31 - 10
    agents.level[0, Skill.MELEE] = 99
    gain(agents, 0, Skill.MELEE, 1000.0, 1000, events, p)
    assert agents.xp[0, Skill.MELEE] == 2**31 - 1


@pytest.mark.parametrize("health_per_level", [2, 5])
def test_constitution_raises_max_health_but_not_health(health_per_level):
    p = rules(progression__health_per_level=health_per_level)
    agents, events = fresh_agents(), EventLog.empty(32)
    agents.health[0] = 40
    gain(agents, 0, Skill.CONSTITUTION, 1.0, REFERENCE[10], events, p)
    assert agents.level[0, Skill.CONSTITUTION] == 10
    assert agents.max_health[0] == p.vitals.max_health + health_per_level * (10 - 1)
    assert agents.health[0] == 40
    assert level_ups(events) == [(0, 10, Skill.CONSTITUTION)]


def test_other_skills_leave_max_health_alone():
    p = rules()
    agents, events = fresh_agents(), EventLog.empty(32)
    for skill in (Skill.MELEE, Skill.RANGE, Skill.MAGE, Skill.DEFENCE, Skill.HUNTING, Skill.FISHING):
        gain(agents, 0, skill, 1.0, REFERENCE[30], events, p)
        assert agents.level[0, skill] == 30
    assert agents.max_health[0] == p.vitals.max_health


def test_max_health_at_each_constitution_level():
    p = rules()
    for level in (1, 2, 50, 98, 99):
        assert max_health_at(level, p) == p.vitals.max_health + p.progression.health_per_level * (level - 1)


INT16_MAX = 32767


@pytest.mark.parametrize(
    "max_health,health_per_level",
    [(100, 2), (10_000, 10_000), (INT16_MAX, 0), (INT16_MAX, 1), (INT16_MAX - 196, 2), (1, 335)],
)
def test_max_health_at_caps_at_the_int16_top(max_health, health_per_level):
    p = rules(vitals__max_health=max_health, progression__health_per_level=health_per_level)
    for level in range(1, 100):
        formula = max_health + health_per_level * (level - 1)
        assert max_health_at(level, p) == min(formula, INT16_MAX), level


def test_the_cap_is_reached_exactly_at_the_int16_top():
    p = rules(vitals__max_health=INT16_MAX - 196, progression__health_per_level=2)  # 99 is exactly the top
    assert max_health_at(98, p) == INT16_MAX - 2 and max_health_at(99, p) == INT16_MAX
    p = rules(vitals__max_health=INT16_MAX - 195, progression__health_per_level=2)  # 99 would be one above it
    assert max_health_at(98, p) == INT16_MAX - 1 and max_health_at(99, p) == INT16_MAX


def test_a_constitution_level_up_never_wraps_the_int16_max_health():
    p = rules(vitals__max_health=10_000, progression__health_per_level=10_000)
    agents, events = fresh_agents(), EventLog.empty(32)
    gain(agents, 0, Skill.CONSTITUTION, 1.0, REFERENCE[2], events, p)
    assert agents.max_health[0] == 20_000
    gain(agents, 0, Skill.CONSTITUTION, 1.0, REFERENCE[99] - REFERENCE[2], events, p)
    assert agents.level[0, Skill.CONSTITUTION] == 99
    assert agents.max_health[0] == INT16_MAX  # 10,000 + 98 x 10,000 would wrap around an int16
    assert level_ups(events) == [(0, 2, Skill.CONSTITUTION), (0, 99, Skill.CONSTITUTION)]


# ------------------------------------------------------------------ foraging levels, on a map

FOREST_EAST = "\n".join(["......", "......", "..0T..", "......", "......", "......"])
WATER_EAST = "\n".join(["......", "......", "..0~..", "......", "......", "......"])


def level_up(sc, slot: int, skill: Skill, level: int) -> None:
    """Give agent ``slot`` exactly the XP of ``level`` in ``skill`` (consistent level and XP)."""
    sc.state.agents.level[slot, skill] = level
    sc.state.agents.xp[slot, skill] = REFERENCE[level]
    sc.refresh()


@pytest.mark.parametrize("hunting", [1, 2, 20, 99])
@pytest.mark.parametrize("restore_per_level", [0.5, 1.0])
def test_hunting_level_raises_the_food_a_meal_restores(hunting, restore_per_level):
    sc = make_scenario(FOREST_EAST, food_restore=10, restore_per_level=restore_per_level, food_decay=0)
    level_up(sc, 0, Skill.HUNTING, hunting)
    sc.state.agents.food[0] = 0
    sc.step({0: Direction.EAST})  # onto the forest: eats there this tick
    cfg = sc.config
    restore = cfg.resources.food_restore + math.floor(cfg.progression.restore_per_level * (hunting - 1))
    expected = min(cfg.vitals.max_food, restore)
    assert [e["value"] for e in sc.events(EventKind.EAT)] == [expected]
    assert sc.agent(0)["food"] == expected


@pytest.mark.parametrize("fishing", [1, 3, 40])
def test_fishing_level_raises_the_water_a_drink_restores(fishing):
    sc = make_scenario(WATER_EAST, water_restore=7, restore_per_level=0.5, water_decay=0)
    level_up(sc, 0, Skill.FISHING, fishing)
    sc.state.agents.water[0] = 0
    sc.step()  # next to the water: drinks
    cfg = sc.config
    expected = cfg.resources.water_restore + math.floor(cfg.progression.restore_per_level * (fishing - 1))
    assert [e["value"] for e in sc.events(EventKind.DRINK)] == [expected]
    assert sc.agent(0)["water"] == expected


@pytest.mark.parametrize("xp_scale", [1.0, 3.0])
def test_a_meal_gives_hunting_xp(xp_scale):
    sc = make_scenario(FOREST_EAST, xp_scale=xp_scale)
    sc.state.agents.food[0] = 10
    sc.step({0: Direction.EAST})
    pr = sc.config.progression
    assert sc.agent(0)["xp"][Skill.HUNTING] == round(pr.xp_scale * pr.forage_xp * 1)
    assert sum(sc.agent(0)["xp"]) == sc.agent(0)["xp"][Skill.HUNTING]


def test_a_drink_gives_fishing_xp():
    sc = make_scenario(WATER_EAST, forage_xp=17.0)
    sc.state.agents.water[0] = 10
    sc.step()
    pr = sc.config.progression
    assert sc.agent(0)["xp"][Skill.FISHING] == round(pr.xp_scale * pr.forage_xp)


def test_a_meal_that_restores_nothing_gives_no_xp():
    sc = make_scenario(FOREST_EAST, food_decay=0)
    assert sc.agent(0)["food"] == sc.config.vitals.max_food
    sc.step({0: Direction.EAST})
    assert [e["value"] for e in sc.events(EventKind.EAT)] == [0]
    assert sc.agent(0)["xp"][Skill.HUNTING] == 0


def test_enough_meals_level_hunting_up_with_an_event():
    grid = grass(6)
    grid[2][2] = "0"
    for c in range(3, 6):
        grid[2][c] = "T"
    sc = make_scenario(draw(grid), food_decay=50, forage_xp=30.0)
    pr = sc.config.progression
    per_meal = round(pr.xp_scale * pr.forage_xp)
    meals_to_level_2 = math.ceil(REFERENCE[2] / per_meal)
    assert meals_to_level_2 == 3  # the map has room for exactly that many meals
    for meal in range(1, meals_to_level_2 + 1):
        sc.state.agents.food[0] = 0
        sc.step({0: Direction.EAST})
        assert sc.agent(0)["xp"][Skill.HUNTING] == meal * per_meal
        ups = [(e["value"], e["detail"]) for e in sc.events(EventKind.LEVEL_UP)]
        assert ups == ([(2, Skill.HUNTING)] if meal == meals_to_level_2 else [])
    assert sc.agent(0)["level"][Skill.HUNTING] == 2
