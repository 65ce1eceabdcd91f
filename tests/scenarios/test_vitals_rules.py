"""Starvation, dehydration and regeneration on drawn maps, with ticks computed from the config."""

from __future__ import annotations

import math

import pytest
from _support import GRASS_8, make_scenario

from neural_mmo.world.events import DeathCause, EventKind

ALONE = GRASS_8[:27] + "0" + GRASS_8[28:]  # one agent on open grass, no food, no water


def test_the_lonely_map_has_one_agent_and_nothing_to_forage():
    sc = make_scenario(ALONE)
    assert sc.state.n_alive == 1 and sc.pos(0) == (3, 0)


def run_until_death(sc, limit=10_000):
    for tick in range(1, limit + 1):
        sc.step()
        deaths = sc.events(EventKind.DEATH)
        if deaths:
            return tick, deaths
        assert sc.agent(0)["alive"]
    raise AssertionError("the agent never died")


@pytest.mark.parametrize(
    "max_food,food_decay,max_health,damage",
    [(100, 5, 100, 10), (37, 4, 23, 6), (10, 10, 1, 1), (50, 7, 100, 100), (9, 2, 40, 3)],
)
def test_starvation_kills_after_the_computed_number_of_ticks(max_food, food_decay, max_health, damage):
    sc = make_scenario(
        ALONE,
        max_food=max_food,
        food_decay=food_decay,
        max_health=max_health,
        starvation_damage=damage,
        water_decay=0,
    )
    v = sc.config.vitals
    empty_at = math.ceil(v.max_food / v.food_decay)  # first tick that ends with food 0
    death_at = empty_at + math.ceil(v.max_health / v.starvation_damage) - 1
    tick, deaths = run_until_death(sc)
    assert tick == death_at
    assert [(e["slot"], e["value"]) for e in deaths] == [(0, DeathCause.STARVATION)]
    assert sc.vec.terminations[0] and sc.vec.rewards[0] == -1.0
    assert sc.agent(0)["death_cause"] == DeathCause.STARVATION


def test_health_drops_by_the_damage_every_tick_while_starving():
    sc = make_scenario(ALONE, water_decay=0)
    v = sc.config.vitals
    empty_at = math.ceil(v.max_food / v.food_decay)
    for tick in range(1, empty_at + 3):
        sc.step()
        assert sc.agent(0)["food"] == max(0, v.max_food - tick * v.food_decay)
        starving_ticks = max(0, tick - empty_at + 1)
        assert sc.agent(0)["health"] == v.max_health - starving_ticks * v.starvation_damage


@pytest.mark.parametrize(
    "max_water,water_decay,max_health,damage",
    [(100, 5, 100, 10), (37, 4, 23, 6), (10, 10, 1, 1), (50, 7, 100, 100)],
)
def test_dehydration_kills_after_the_computed_number_of_ticks(max_water, water_decay, max_health, damage):
    sc = make_scenario(
        ALONE,
        max_water=max_water,
        water_decay=water_decay,
        max_health=max_health,
        dehydration_damage=damage,
        food_decay=0,
    )
    v = sc.config.vitals
    death_at = math.ceil(v.max_water / v.water_decay) + math.ceil(v.max_health / v.dehydration_damage) - 1
    tick, deaths = run_until_death(sc)
    assert tick == death_at
    assert [(e["slot"], e["value"]) for e in deaths] == [(0, DeathCause.DEHYDRATION)]


def reference_vitals_run(v):
    """Health, food, water per tick for an agent with nothing to eat or drink (the vitals docstring)."""
    health, food, water, tick = v.max_health, v.max_food, v.max_water, 0
    while True:
        tick += 1
        food, water = max(0, food - v.food_decay), max(0, water - v.water_decay)
        cause = None
        if food == 0:
            health -= v.starvation_damage
            cause = DeathCause.STARVATION if health <= 0 else None
        if water == 0:
            health -= v.dehydration_damage
            if health <= 0 and cause is None:
                cause = DeathCause.DEHYDRATION
        if health <= 0:
            return tick, cause


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"starvation_damage": 25, "dehydration_damage": 5},
        {"starvation_damage": 5, "dehydration_damage": 25},
        {"food_decay": 6, "water_decay": 9},
    ],
)
def test_starving_and_thirsty_at_once_the_cause_follows_the_order_of_damage(overrides):
    sc = make_scenario(ALONE, **overrides)
    death_at, cause = reference_vitals_run(sc.config.vitals)
    tick, deaths = run_until_death(sc)
    assert (tick, deaths[0]["value"]) == (death_at, cause)


@pytest.mark.parametrize(
    "max_health,regen_fraction,threshold,food_decay",
    [(100, 0.07, 0.5, 15), (100, 0.1, 0.5, 5), (40, 0.25, 0.3, 12), (100, 0.29, 0.0, 30)],
)
def test_regeneration_only_while_food_and_water_are_above_the_threshold(
    max_health, regen_fraction, threshold, food_decay
):
    sc = make_scenario(
        ALONE,
        max_health=max_health,
        regen_fraction=regen_fraction,
        regen_threshold=threshold,
        food_decay=food_decay,
        water_decay=0,
        starvation_damage=0,
    )
    v = sc.config.vitals
    regen = math.floor(v.max_health * v.regen_fraction + 1e-9)
    assert sc.config.regen_amount == regen
    sc.state.agents.health[0] = 1
    health = 1
    for tick in range(1, 20):
        sc.step()
        food = max(0, v.max_food - tick * v.food_decay)
        if food > v.regen_threshold * v.max_food:
            health = min(v.max_health, health + regen)
        assert sc.agent(0)["food"] == food
        assert sc.agent(0)["health"] == health, tick
    assert health > 1


def test_no_regeneration_when_water_is_low_even_with_full_food():
    sc = make_scenario(ALONE, food_decay=0, water_decay=1, regen_threshold=0.5)
    v = sc.config.vitals
    sc.state.agents.health[0] = 10
    sc.state.agents.water[0] = int(v.regen_threshold * v.max_water) + 1  # decays to the threshold: no regen
    sc.step()
    assert sc.agent(0)["water"] == int(v.regen_threshold * v.max_water)
    assert sc.agent(0)["health"] == 10  # water is not above the threshold after decay
    sc.state.agents.water[0] = int(v.regen_threshold * v.max_water) + 2
    sc.step()
    assert sc.agent(0)["health"] == 10 + sc.config.regen_amount


def test_immortal_agents_keep_one_health():
    sc = make_scenario(ALONE, immortal=True, starvation_damage=60, dehydration_damage=60)
    for _ in range(100):
        sc.step()
    assert sc.agent(0)["alive"] and sc.agent(0)["health"] == 1
    assert sc.agent(0)["food"] == 0 and sc.agent(0)["water"] == 0
