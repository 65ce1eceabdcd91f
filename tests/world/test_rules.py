"""Rules: the config's numbers as the record kernels read, generated from the config's fields."""

from __future__ import annotations

import dataclasses

import pytest

from neural_mmo.config import _GROUPS, Config
from neural_mmo.world.rules import GROUP_RULES, make_rules, replace_rules
from neural_mmo.world.state import WorldState


@pytest.mark.parametrize("mode", ["continuous", "concurrent"])
def test_rules_hold_every_number_of_the_config_and_the_derived_ones(mode):
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
    rules = make_rules(cfg)
    for group in _GROUPS:
        record = getattr(rules, group)
        for f in dataclasses.fields(getattr(cfg, group)):
            if str(f.type) in ("int", "float", "bool"):
                value = getattr(record, f.name)
                assert value == getattr(getattr(cfg, group), f.name), f"{group}.{f.name}"
                assert type(value).__name__ == str(f.type), f"{group}.{f.name} is a {type(value).__name__}"
    assert rules.map.border == 9 and rules.vitals.food_decay == 4 and rules.npc.leash == 11
    assert rules.derived._asdict() == {
        "continuous_spawn": mode == "continuous",
        "last_tick": cfg.episode.horizon,
        "food_regen_above": 40.0,  # 0.5 * 80
        "water_regen_above": 35.0,  # 0.5 * 70
        "regen_amount": 22,  # floor(90 * 0.25)
        "style_range": (2, 5, 6),
        "style_damage": (8.5, 6.5, 4.5),
        "style_damage_per_99": (60.0, 50.0, 40.0),
    }


def test_each_group_record_is_generated_from_the_config_fields():
    for group, cls in _GROUPS.items():
        numeric = [f.name for f in dataclasses.fields(cls) if str(f.type) in ("int", "float", "bool")]
        assert list(GROUP_RULES[group]._fields) == numeric
    spawn = ("n_agents", "n_populations", "attempts_per_tick", "min_alive", "cap", "sample_cap")
    assert make_rules(Config()).spawn._fields == spawn


def test_values_take_the_declared_type_and_persistent_worlds_have_no_last_tick():
    cfg = Config.preset("small").override({"combat.melee_damage": 8, "episode.persistent": True})
    rules = make_rules(cfg)
    assert isinstance(rules.combat.melee_damage, float) and rules.combat.melee_damage == 8.0
    assert rules.derived.style_damage[0] == 8.0 and isinstance(rules.derived.style_damage[0], float)
    assert rules.derived.last_tick == -1


def test_replace_rules_changes_one_field_and_rejects_unknown_ones():
    base = make_rules(Config())
    changed = replace_rules(base, map__border=1, vitals__immortal=True)
    assert changed.map.border == 1 and changed.vitals.immortal is True
    assert changed.combat == base.combat and base.map.border == Config().map.border
    with pytest.raises(KeyError, match="vitals__nope"):
        replace_rules(base, vitals__nope=1)
    with pytest.raises(KeyError, match="food_decay"):
        replace_rules(base, food_decay=1)


def test_a_world_carries_the_rules_of_its_config():
    cfg = Config.preset("small").override({"vitals.food_decay": 9})
    state = WorldState.allocate(cfg)
    assert state.rules == make_rules(cfg) and state.rules.vitals.food_decay == 9
    with pytest.raises(AttributeError):
        state.rules.vitals.food_decay = 1  # type: ignore[misc]


def test_rules_and_world_records_pickle_by_reference():
    """numba's on-disk kernel cache pickles each kernel's signature; a record type that cannot be
    found again by module and name (a generated class not bound in its module) makes every new
    process compile every kernel anew."""
    import pickle

    from neural_mmo.world.state import WorldState

    rules = make_rules(Config())
    assert pickle.loads(pickle.dumps(rules)) == rules
    for group in rules:
        assert pickle.loads(pickle.dumps(type(group))) is type(group)
    state = WorldState.allocate(Config.preset("small"))
    assert pickle.loads(pickle.dumps(type(state.world))) is type(state.world)
