"""The fog's kernels against the documented formulas: depth, safe square, damage, observation."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from _support import world_of

from neural_mmo.config import Config, ConfigError
from neural_mmo.observe.layout import ObsLayout
from neural_mmo.world.events import DeathCause
from neural_mmo.world.rules import make_rules
from neural_mmo.world.systems.fog import (
    close_fog,
    fog_depth,
    fog_distance,
    safe_bounds,
    ticks_to_advance,
)
from neural_mmo.world.tables import AgentTable


def fog_config(**fog):
    values = {"enabled": True, "start_tick": 256, "speed": 0.1, "damage": 10, "min_safe": 8, **fog}
    return Config.preset("medium").override({f"fog.{k}": v for k, v in values.items()})


def depth_reference(cfg: Config, tick: int) -> int:
    """The documented depth, in exact arithmetic (the speed as the decimal it was written as)."""
    f = cfg.fog
    if not f.enabled or tick <= f.start_tick:
        return 0
    return min((cfg.map.size - f.min_safe) // 2, math.floor(Fraction(str(f.speed)) * (tick - f.start_tick)))


@pytest.mark.parametrize(
    "speed, elapsed, depth",
    [(0.1, 0, 0), (0.1, 9, 0), (0.1, 10, 1), (0.1, 19, 1), (0.1, 20, 2), (0.1, 30, 3), (0.1, 70, 7),
     (0.57, 100, 57), (0.7, 10, 7), (0.3, 10, 3), (2.5, 1, 2), (2.5, 2, 5), (1.0, 1, 1), (1.0, 10_000, 60),
     (1e-6, 10**6 - 1, 0), (1e-6, 10**6, 1)],
)  # fmt: skip
def test_depth_at_given_ticks_fractional_speeds_exact(speed, elapsed, depth):
    cfg = fog_config(speed=speed)
    assert fog_depth(256 + elapsed, make_rules(cfg)) == depth == depth_reference(cfg, 256 + elapsed)


def test_naive_float_product_would_miss_a_ring():
    # the reason the depth is computed on integers: 100 x 0.57 is 56.99999999999999 in floats
    assert math.floor(100 * 0.57) == 56
    assert fog_depth(256 + 100, make_rules(fog_config(speed=0.57))) == 57


@pytest.mark.parametrize("speed", [0.1, 0.25, 0.3, 0.57, 1.0, 1.7, 3.0])
@pytest.mark.parametrize("size, min_safe", [(128, 8), (127, 8), (128, 1), (20, 20)])
def test_depth_and_safe_square_match_the_formula_at_every_tick(speed, size, min_safe):
    cfg = fog_config(speed=speed, min_safe=min_safe, start_tick=5).override({"map.size": size})
    rules = make_rules(cfg)
    b = cfg.map.border
    for tick in range(0, 5 + 4 * size):
        depth = depth_reference(cfg, tick)
        assert fog_depth(tick, rules) == depth
        assert safe_bounds(tick, rules) == (b + depth, b + size - 1 - depth)
    final = size - 2 * ((size - min_safe) // 2)
    assert final in (min_safe, min_safe + 1)  # the smallest safe square
    lo, hi = safe_bounds(10**9, rules)
    assert hi - lo + 1 == final


def test_fog_off_leaves_every_tile_safe():
    cfg = fog_config(enabled=False, start_tick=0, speed=5.0)
    rules = make_rules(cfg)
    for tick in (0, 1, 100, 10**6):
        assert fog_depth(tick, rules) == 0
        lo, hi = safe_bounds(tick, rules)
        assert lo <= 0 and hi >= 2**31  # whatever grid a kernel is given
        assert ticks_to_advance(tick, rules) == 0


@pytest.mark.parametrize("speed", [0.1, 0.57, 1.0, 2.5])
def test_ticks_to_advance_is_the_wait_for_the_next_ring(speed):
    cfg = fog_config(speed=speed, start_tick=3).override({"map.size": 24, "fog.min_safe": 6})
    rules = make_rules(cfg)
    max_depth = (24 - 6) // 2
    horizon = 3 + 300
    for tick in range(horizon):
        now = depth_reference(cfg, tick)
        if now == max_depth:
            assert ticks_to_advance(tick, rules) == 0
            continue
        wait = next(k for k in range(1, horizon) if depth_reference(cfg, tick + k) > now)
        assert ticks_to_advance(tick, rules) == wait, tick


def test_fog_distance_counts_moves_to_the_fog_and_back():
    lo, hi = 10, 20
    assert fog_distance(10, 15, lo, hi) == 0  # the safe square's outer ring
    assert fog_distance(15, 15, lo, hi) == 5
    assert fog_distance(12, 19, lo, hi) == 1
    assert fog_distance(9, 15, lo, hi) == -1
    assert fog_distance(7, 15, lo, hi) == -3
    assert fog_distance(7, 23, lo, hi) == -6  # a corner: rows and columns both
    assert fog_distance(21, 5, lo, hi) == -6


def agents_at(cells, health=50):
    agents = AgentTable.empty(len(cells))
    for i, (r, c) in enumerate(cells):
        agents.alive[i] = True
        agents.r[i], agents.c[i] = r, c
        agents.health[i] = health
        agents.max_health[i] = 100
    return agents


def test_close_fog_damages_only_living_agents_in_the_fog():
    cfg = fog_config(start_tick=0, speed=1.0, damage=15).override({"map.size": 16, "fog.min_safe": 4})
    rules = make_rules(cfg)
    b = cfg.map.border
    side = cfg.grid_side
    # tick 2: two rings fogged, safe rows/columns b+2 .. b+13
    cells = [(b, b), (b + 1, b + 7), (b + 2, b + 2), (b + 7, b + 7), (b + 7, b + 14), (b + 15, b + 15)]
    agents = agents_at(cells)
    agents.alive[5] = False  # dead: untouched
    agents.death_cause[4] = DeathCause.STARVATION  # killed earlier this tick: untouched
    world = world_of(np.zeros((side, side), np.uint8), now=2, agents=agents)
    close_fog(world, rules)
    assert agents.health.tolist() == [35, 35, 50, 50, 50, 50]
    assert agents.death_cause.tolist() == [0, 0, 0, 0, DeathCause.STARVATION, 0]


def test_fog_kills_with_cause_fog_and_spares_the_immortal():
    cfg = fog_config(start_tick=0, speed=1.0, damage=30).override({"map.size": 16})
    b = cfg.map.border
    side = cfg.grid_side
    for immortal, health, cause in ((False, 0, DeathCause.FOG), (True, 1, 0)):
        rules = make_rules(cfg.override({"vitals.immortal": immortal}))
        agents = agents_at([(b, b + 3)], health=20)
        close_fog(world_of(np.zeros((side, side), np.uint8), now=1, agents=agents), rules)
        assert (int(agents.health[0]), int(agents.death_cause[0])) == (health, cause)
        assert agents.alive[0]  # remove_dead takes it off the map


def test_close_fog_is_a_no_op_when_off_or_before_the_start():
    side = Config.preset("medium").grid_side
    for cfg, tick in ((fog_config(enabled=False, start_tick=0, speed=5.0), 50), (fog_config(), 256)):
        agents = agents_at([(cfg.map.border, cfg.map.border)])
        close_fog(world_of(np.zeros((side, side), np.uint8), now=tick, agents=agents), make_rules(cfg))
        assert agents.health[0] == 50 and agents.death_cause[0] == 0


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"fog.speed": 0.0}, "fog.speed"),
        ({"fog.speed": -1.0}, "fog.speed"),
        ({"fog.damage": -1}, "fog.damage"),
        ({"fog.min_safe": 0}, "fog.min_safe"),
        ({"fog.start_tick": -5}, "fog.start_tick"),
        ({"fog.enabled": True, "fog.min_safe": 200}, "fog.min_safe: 200 exceeds map.size=128"),
        ({"fog.speed": "fast"}, "fog.speed"),
    ],
)
def test_bad_fog_settings_are_config_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        Config.preset("medium").override(overrides)


def test_a_large_min_safe_is_fine_while_the_fog_is_off():
    cfg = Config.preset("medium").override({"fog.min_safe": 200})
    assert not cfg.fog.enabled and cfg.fog.min_safe == 200
    assert make_rules(cfg).fog.min_safe == 200


def test_fog_rules_are_generated_from_the_config_group():
    rules = make_rules(fog_config(speed=2))  # an int given to a float field is stored as a float
    assert rules.fog.enabled is True and rules.fog.start_tick == 256 and rules.fog.min_safe == 8
    assert isinstance(rules.fog.speed, float) and rules.fog.speed == 2.0


def test_the_fog_observation_exists_only_with_the_fog_on():
    off = ObsLayout(Config.preset("medium"))
    on = ObsLayout(fog_config())
    assert [f.key for f in off.fields] == ["tiles", "entities", "entity_mask", "action_mask"]
    assert [f.key for f in on.fields] == ["tiles", "entities", "entity_mask", "action_mask", "fog"]
    fog = on.fields[-1]
    assert fog.dtype == np.int16 and fog.shape == (2,)
    assert fog.low.tolist() == [-129, 0] and fog.high.tolist() == [63, 32767]
    assert on.bytes_per_agent == off.bytes_per_agent + 4
    assert "`fog`" in off.markdown() and "(without `fog`, " in off.markdown()
    assert (
        "(without `fog`" not in on.markdown()
        and "(without `professions`, `items`, `gold`, `equipment`)" in on.markdown()
    )


def test_a_system_view_buffer_must_be_a_contiguous_int16_matrix():
    from neural_mmo.observe.encode import Observer

    layout = ObsLayout(fog_config())
    buffers = layout.allocate(4)
    views = Observer(layout, buffers).arrays.views
    assert views.fog is buffers["fog"]  # the encoder writes into the caller's array
    for bad in (np.zeros((4, 2), np.int32), np.zeros((4, 4), np.int16)[:, ::2]):
        with pytest.raises(TypeError, match="'fog' buffer must be a C-contiguous int16 \\[N, \\*shape\\]"):
            Observer(layout, {**buffers, "fog": bad})
    assert Observer(
        ObsLayout(Config.preset("medium")), ObsLayout(Config.preset("medium")).allocate(4)
    ).arrays.views.fog.shape == (4, 0)
