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
            "combat.melee_range": 2,
            "combat.range_range": 5,
            "combat.mage_range": 6,
            "combat.melee_damage": 8.5,
            "combat.range_damage": 6.5,
            "combat.mage_damage": 4.5,
            "combat.melee_damage_per_99": 60.0,
            "combat.range_damage_per_99": 50.0,
            "combat.mage_damage_per_99": 40.0,
            "combat.defence_reduction": 0.4,
            "combat.roll_bonus": 3,
            "combat.weakness_multiplier": 2.0,
            "combat.freeze_ticks": 7,
            "combat.spawn_immunity": 13,
            "combat.status_ticks": 9,
            "combat.regen_in_combat": True,
            "progression.max_level": 50,
            "progression.xp_scale": 2.5,
            "progression.xp_per_damage": 3.0,
            "progression.constitution_xp_per_damage": 1.5,
            "progression.defence_xp_per_damage": 2.25,
            "progression.forage_xp": 12.0,
            "progression.health_per_level": 4,
            "progression.restore_per_level": 0.75,
            "npc.spawn_attempts": 6,
            "npc.passive_below": 0.2,
            "npc.neutral_below": 0.6,
            "npc.edge_level": 2,
            "npc.centre_level": 40,
            "npc.sight": 7,  # at least the longest reach (mage: 6) while the preset has NPCs
            "npc.wander_prob": 0.3,
            "npc.leash": 11,
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
        "style_range": (2, 5, 6),
        "style_damage": (8.5, 6.5, 4.5),
        "style_damage_per_99": (60.0, 50.0, 40.0),
        "defence_reduction": 0.4,
        "roll_bonus": 3,
        "weakness_multiplier": 2.0,
        "freeze_ticks": 7,
        "spawn_immunity": 13,
        "status_ticks": 9,
        "regen_in_combat": True,
        "max_level": 50,
        "xp_scale": 2.5,
        "xp_per_damage": 3.0,
        "constitution_xp_per_damage": 1.5,
        "defence_xp_per_damage": 2.25,
        "forage_xp": 12.0,
        "health_per_level": 4,
        "restore_per_level": 0.75,
        "npc_spawn_attempts": 6,
        "npc_passive_below": 0.2,
        "npc_neutral_below": 0.6,
        "npc_edge_level": 2,
        "npc_centre_level": 40,
        "npc_sight": 7,
        "npc_wander_prob": 0.3,
        "npc_leash": 11,
    }
    assert cfg.regen_amount == 22
    assert isinstance(p.food_regen_above, float) and isinstance(p.continuous_spawn, bool)


def test_a_world_carries_the_params_of_its_config():
    cfg = Config.preset("small").override({"vitals.food_decay": 9})
    state = WorldState.allocate(cfg)
    assert state.params == Params.from_config(cfg) and state.params.food_decay == 9
    with pytest.raises(AttributeError):
        state.params.food_decay = 1  # type: ignore[misc]
