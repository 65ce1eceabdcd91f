"""Params: the runtime rule numbers the kernels read, flattened from the Config."""

from __future__ import annotations

import pytest

from neural_mmo.config import Config
from neural_mmo.world.params import Params
from neural_mmo.world.state import WorldState


@pytest.mark.parametrize("mode", ["continuous", "concurrent"])
def test_from_config_copies_every_rule_number(mode):
    cfg = Config.preset("small").override(
        {
            "map.border": 9,
            "vitals.immortal": True,
            "vitals.max_health": 90,
            "vitals.max_food": 80,
            "vitals.max_water": 70,
            "vitals.food_decay": 4,
            "vitals.water_decay": 6,
            "vitals.starvation_damage": 11,
            "vitals.dehydration_damage": 12,
            "vitals.regen_fraction": 0.25,
            "vitals.regen_threshold": 0.5,
            "resources.food_restore": 33,
            "resources.water_restore": 44,
            "resources.food_regrow_prob": 0.125,
            "spawn.mode": mode,
            "spawn.attempts_per_tick": 5,
            "spawn.min_alive": 2,
            "spawn.n_agents": 20,
            "spawn.n_populations": 3,
        }
    )
    p = Params.from_config(cfg)
    assert p._asdict() == {
        "last_tick": cfg.episode.horizon,
        "border": 9,
        "immortal": True,
        "max_health": 90,
        "max_food": 80,
        "max_water": 70,
        "food_decay": 4,
        "water_decay": 6,
        "starvation_damage": 11,
        "dehydration_damage": 12,
        "food_regen_above": 40.0,
        "water_regen_above": 35.0,
        "regen_amount": 22,  # floor(90 * 0.25)
        "food_restore": 33,
        "water_restore": 44,
        "food_regrow_prob": 0.125,
        "continuous_spawn": mode == "continuous",
        "spawn_attempts": 5,
        "min_alive": 2,
        "n_agents": 20,
        "n_populations": 3,
    }
    assert cfg.regen_amount == 22
    assert isinstance(p.food_regen_above, float) and isinstance(p.continuous_spawn, bool)


def test_a_world_carries_the_params_of_its_config():
    cfg = Config.preset("small").override({"vitals.food_decay": 9})
    state = WorldState.allocate(cfg)
    assert state.params == Params.from_config(cfg) and state.params.food_decay == 9
    with pytest.raises(AttributeError):
        state.params.food_decay = 1  # type: ignore[misc]
