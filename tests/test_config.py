"""Config: presets, validation (ConfigError naming key and value), overrides from strings and TOML."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import neural_mmo
from neural_mmo.config import (
    PRESETS,
    Config,
    ConfigError,
    EpisodeConfig,
    MapConfig,
    ObserveConfig,
    SpawnConfig,
    VitalsConfig,
    field_docs,
    make_config,
    resolve_key,
)
from neural_mmo.envs.vector import VecEnv
from neural_mmo.observe.layout import ObsLayout, TileChannel
from neural_mmo.world.state import WorldState
from neural_mmo.world.tables import Behaviour

NUMERIC_FIELDS = [
    (key, f) for key, f in field_docs() if "min" in f.metadata and not isinstance(f.default, bool)
]


# ---------------------------------------------------------------------- presets


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_apply_their_overrides_and_validate(name):
    cfg = Config.preset(name)
    cfg.validate()
    for key, value in PRESETS[name].items():
        group, field = key.split(".")
        assert getattr(getattr(cfg, group), field) == value
    assert cfg.grid_side == cfg.map.size + 2 * cfg.map.border


def test_preset_sizes_match_the_docs():
    assert (Config.preset("small").map.size, Config.preset("small").spawn.n_agents) == (64, 64)
    assert (Config.preset("medium").map.size, Config.preset("medium").spawn.n_agents) == (128, 128)
    assert (Config.preset("large").map.size, Config.preset("large").spawn.n_agents) == (1024, 1024)
    assert [Config.preset(name).npc.n_npcs for name in ("small", "medium", "large")] == [32, 128, 1024]
    assert Config().npc.n_npcs == 0  # the bare dataclass default has no NPCs
    assert Config.preset() == Config.preset("medium")


def test_groups_in_order():
    assert list(Config().to_dict()) == [
        "map", "terrain", "vitals", "resources", "spawn", "episode", "observe",
        "combat", "progression", "npc", "fog", "item", "profession", "exchange",
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["tiny", "SMALL", "", "medium "])
def test_unknown_preset_raises_config_error_naming_it(name):
    with pytest.raises(ConfigError) as err:
        Config.preset(name)
    assert repr(name) in str(err.value)
    assert "small" in str(err.value)


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_defaults_validate_and_every_field_is_documented():
    Config().validate()
    keys = [key for key, _ in field_docs()]
    assert keys == [key for key, _ in Config().items()]
    assert len(set(keys)) == len(keys)
    for key, f in field_docs():
        assert f.metadata["doc"], key
        if not isinstance(f.default, (bool, str)):
            assert "min" in f.metadata and "max" in f.metadata, key
            assert f.metadata["min"] <= f.default <= f.metadata["max"], key


def test_config_is_frozen_and_override_returns_a_copy():
    base = Config.preset("small")
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.map.size = 3  # type: ignore[misc]
    changed = base.override({"spawn.n_agents": 16})
    assert changed.spawn.n_agents == 16
    assert base.spawn.n_agents == 64
    assert changed.map == base.map


def test_to_dict_and_items_agree():
    cfg = Config.preset("small").override({"episode.horizon": 77})
    nested = cfg.to_dict()
    for key, value in cfg.items():
        group, name = key.split(".")
        assert nested[group][name] == value
    assert nested["episode"]["horizon"] == 77


# ---------------------------------------------------------------------- out of range and wrong types


@pytest.mark.parametrize("key,spec", NUMERIC_FIELDS, ids=[k for k, _ in NUMERIC_FIELDS])
def test_out_of_range_values_name_key_and_value(key, spec):
    lo, hi = spec.metadata["min"], spec.metadata["max"]
    kind = type(spec.default)
    for bad in (kind(lo - 1), kind(hi + 1)):
        with pytest.raises(ConfigError) as err:
            Config.preset("small").override({key: bad})
        message = str(err.value)
        assert message.startswith(key + ":"), message
        assert repr(bad) in message
        assert "range" in message


@pytest.mark.parametrize(
    "key,value,fragment",
    [
        ("map.size", 16.0, "expected int"),
        ("map.size", True, "expected int"),
        ("map.size", None, "expected int"),
        ("map.size", [16], "expected int"),
        ("vitals.regen_fraction", "abc", "not a valid float"),
        ("vitals.regen_fraction", True, "expected float"),
        ("vitals.immortal", 1, "expected bool"),
        ("vitals.immortal", "maybe", "not a valid bool"),
        ("spawn.mode", 3, "expected str"),
        ("spawn.mode", "Continuous", "not allowed"),
        ("spawn.mode", "sometimes", "not allowed"),
        ("resources.food_regrow_prob", float("nan"), "not finite"),
        ("resources.food_regrow_prob", "inf", "not finite"),
        ("spawn.n_agents", "1.5", "not a valid int"),
        ("spawn.n_agents", "sixteen", "not a valid int"),
    ],
)
def test_wrong_types_raise_config_error_naming_key_and_value(key, value, fragment):
    with pytest.raises(ConfigError) as err:
        Config.preset("small").override({key: value})
    message = str(err.value)
    assert message.startswith(key + ":"), message
    assert fragment in message
    if not isinstance(value, float) or not math.isnan(value):
        assert repr(value) in message or str(value) in message


@pytest.mark.parametrize("key", ["spawn.bogus", "bogus.size", "sizes", "map.size.extra", "", "map."])
def test_unknown_keys_raise_config_error(key):
    with pytest.raises(ConfigError) as err:
        Config.preset("small").override({key: 1})
    assert key in str(err.value)


def test_unknown_field_lists_the_allowed_ones():
    with pytest.raises(ConfigError) as err:
        Config.preset("small").override({"spawn.agents": 3})
    assert "n_agents" in str(err.value)


# ---------------------------------------------------------------------- cross-field rules


@pytest.mark.parametrize("border,radius", [(7, 7), (3, 7), (2, 2), (4, 5)])
def test_border_must_exceed_the_vision_radius(border, radius):
    with pytest.raises(ConfigError) as err:
        Config.preset("small").override({"map.border": border, "observe.vision_radius": radius})
    message = str(err.value)
    assert message.startswith("map.border:")
    assert str(border) in message and f"vision_radius={radius}" in message


def test_a_border_of_one_is_out_of_range_as_no_vision_radius_fits_inside_it():
    assert (
        MapConfig.__dataclass_fields__["border"].metadata["min"]
        == 1 + ObserveConfig.__dataclass_fields__["vision_radius"].metadata["min"]
    )
    with pytest.raises(ConfigError, match=r"^map\.border: 1 is out of range"):
        Config.preset("small").override({"map.border": 1, "observe.vision_radius": 1})


def test_border_one_more_than_radius_is_fine():
    cfg = Config.preset("small").override({"map.border": 4, "observe.vision_radius": 3})
    assert cfg.grid_side == 64 + 8


@pytest.mark.parametrize(
    "overrides,key",
    [
        ({"terrain.lava_below": 0.5, "terrain.water_below": 0.4}, "terrain.water_below"),
        ({"terrain.water_below": 0.6}, "terrain.grass_below"),
        ({"terrain.scrub_below": 0.95}, "terrain.forest_below"),
        ({"terrain.grass_below": 0.59, "terrain.scrub_below": 0.58}, "terrain.scrub_below"),
        ({"terrain.min_wavelength": 100.0, "terrain.max_wavelength": 50.0}, "terrain.min_wavelength"),
        ({"spawn.n_agents": 4, "spawn.n_populations": 5}, "spawn.n_populations"),
        ({"spawn.n_agents": 4, "spawn.min_alive": 5}, "spawn.min_alive"),
        ({"npc.passive_below": 0.8, "npc.neutral_below": 0.7}, "npc.neutral_below"),
        ({"progression.max_level": 20, "npc.edge_level": 21, "npc.centre_level": 5}, "npc.edge_level"),
        ({"progression.max_level": 20}, "npc.centre_level"),  # the default centre level is 30
        ({"npc.n_npcs": 1, "npc.sight": 3, "combat.mage_range": 4}, "npc.sight"),
    ],
)
def test_inconsistent_values_raise_naming_the_key(overrides, key):
    with pytest.raises(ConfigError) as err:
        Config.preset("small").override(overrides)
    assert str(err.value).startswith(key + ":"), str(err.value)


@pytest.mark.parametrize("mode", ["continuous", "concurrent"])
def test_persistent_worlds_must_spawn_continuously(mode):
    overrides = {"episode.persistent": True, "spawn.mode": mode}
    if mode == "continuous":
        assert Config.preset("small").override(overrides).episode.persistent
        return
    with pytest.raises(ConfigError, match=r"^episode\.persistent: .*continuous"):
        Config.preset("small").override(overrides)
    with pytest.raises(ConfigError, match=r"^episode\.persistent"):
        Config(spawn=SpawnConfig(mode="concurrent"), episode=EpisodeConfig(persistent=True))


@pytest.mark.parametrize(
    "mode,attempts,min_alive,ok",
    [
        ("continuous", 0, 0, False),
        ("continuous", 0, 1, True),
        ("continuous", 1, 0, True),
        ("concurrent", 0, 0, True),  # concurrent mode spawns everyone at reset
    ],
)
def test_continuous_spawning_must_be_able_to_spawn_someone(mode, attempts, min_alive, ok):
    overrides = {"spawn.mode": mode, "spawn.attempts_per_tick": attempts, "spawn.min_alive": min_alive}
    if ok:
        cfg = Config.preset("small").override(overrides)
        assert (cfg.spawn.attempts_per_tick, cfg.spawn.min_alive) == (attempts, min_alive)
        return
    with pytest.raises(ConfigError, match=r"^spawn\.attempts_per_tick: 0 .*min_alive=0"):
        Config.preset("small").override(overrides)
    with pytest.raises(ConfigError, match=r"^spawn\.attempts_per_tick"):
        Config(spawn=SpawnConfig(attempts_per_tick=0, min_alive=0))


def test_at_most_252_populations_so_the_occupant_channel_fits_in_a_byte():
    cfg = Config.preset("small").override({"spawn.n_agents": 300, "spawn.n_populations": 252})
    assert cfg.spawn.n_populations == 252
    occupant_top = cfg.spawn.n_populations + max(Behaviour)  # agents 1..P, then the NPC behaviours
    assert occupant_top == np.iinfo(np.uint8).max
    tiles = {f.key: f for f in ObsLayout(cfg).fields}["tiles"]
    assert (tiles.high[..., TileChannel.OCCUPANT] == occupant_top).all() and tiles.dtype == np.uint8
    with pytest.raises(ConfigError, match=r"^spawn\.n_populations: 253 is out of range"):
        Config.preset("small").override({"spawn.n_agents": 300, "spawn.n_populations": 253})


REACHES = ("combat.melee_range", "combat.range_range", "combat.mage_range")


@pytest.mark.parametrize("longest", REACHES)
def test_npcs_must_see_as_far_as_the_longest_reach(longest):
    reach = {key: 2 for key in REACHES} | {longest: 6}
    with pytest.raises(ConfigError, match=r"^npc\.sight: 5 is below the longest reach 6"):
        Config.preset("small").override({**reach, "npc.n_npcs": 4, "npc.sight": 5})
    assert Config.preset("small").override({**reach, "npc.n_npcs": 4, "npc.sight": 6}).npc.sight == 6
    cfg = Config.preset("small").override({**reach, "npc.n_npcs": 0, "npc.sight": 5})  # no NPCs: no rule
    assert (cfg.npc.n_npcs, cfg.npc.sight) == (0, 5)


@given(
    reach=st.tuples(st.integers(1, 32), st.integers(1, 32), st.integers(1, 32)),
    sight=st.integers(1, 16),
    n_npcs=st.integers(0, 3),
)
def test_a_config_with_npcs_is_valid_exactly_when_their_sight_covers_every_reach(reach, sight, n_npcs):
    overrides = {**dict(zip(REACHES, reach)), "npc.sight": sight, "npc.n_npcs": n_npcs}
    if n_npcs == 0 or sight >= max(reach):
        assert Config.preset("small").override(overrides).npc.sight == sight
    else:
        with pytest.raises(ConfigError, match=r"^npc\.sight"):
            Config.preset("small").override(overrides)


def test_the_smallest_map_is_one_tile():
    cfg = Config.preset("small").override({"map.size": 1, "spawn.n_agents": 1})
    assert cfg.map.size == 1 and cfg.grid_side == 1 + 2 * cfg.map.border
    with pytest.raises(ConfigError, match=r"^map\.size: 0 is out of range"):
        Config(map=MapConfig(size=0))


def test_equal_thresholds_are_allowed():
    cfg = Config.preset("small").override({"terrain.grass_below": 0.6, "terrain.scrub_below": 0.6})
    assert cfg.terrain.grass_below == cfg.terrain.scrub_below == 0.6
    cfg = Config.preset("small").override({"npc.passive_below": 0.5, "npc.neutral_below": 0.5})
    assert cfg.npc.passive_below == cfg.npc.neutral_below == 0.5
    cfg = Config.preset("small").override({"progression.max_level": 30, "npc.centre_level": 30})
    assert cfg.npc.centre_level == cfg.progression.max_level == 30


def test_building_a_config_validates_it():
    with pytest.raises(ConfigError, match=r"vitals\.max_health: 0"):
        Config(vitals=VitalsConfig(max_health=0))
    with pytest.raises(ConfigError, match=r"spawn\.mode: 'sometimes' is not allowed"):
        Config(spawn=SpawnConfig(mode="sometimes"))
    with pytest.raises(ConfigError, match=r"map\.size: 16\.0 has type float"):
        Config(map=MapConfig(size=16.0))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"spawn\.n_populations"):
        Config(spawn=SpawnConfig(n_agents=2, n_populations=3, min_alive=1))
    with pytest.raises(ConfigError, match=r"map\.border"):
        Config(map=MapConfig(border=3), observe=ObserveConfig(vision_radius=5))
    with pytest.raises(ConfigError, match=r"vitals\.max_health"):
        dataclasses.replace(Config(), vitals=VitalsConfig(max_health=-1))


# ---------------------------------------------------------------------- string (CLI) overrides


@pytest.mark.parametrize(
    "key,text,expected",
    [
        ("resources.food_regrow_prob", "0.05", 0.05),
        ("resources.food_regrow_prob", " 1e-3 ", 0.001),
        ("resources.food_regrow_prob", "1", 1.0),
        ("vitals.immortal", "true", True),
        ("vitals.immortal", "True", True),
        ("vitals.immortal", "yes", True),
        ("vitals.immortal", "1", True),
        ("vitals.immortal", "false", False),
        ("vitals.immortal", "no", False),
        ("vitals.immortal", "0", False),
        ("spawn.n_agents", "16", 16),
        ("spawn.n_agents", " 16 ", 16),
        ("spawn.mode", "concurrent", "concurrent"),
        ("episode.persistent", "TRUE", True),
    ],
)
def test_cli_string_overrides_parse_to_the_field_type(key, text, expected):
    cfg = Config.preset("small").override({key: text})
    group, name = key.split(".")
    value = getattr(getattr(cfg, group), name)
    assert value == expected
    assert type(value) is type(expected)


def test_int_given_for_float_field_becomes_float():
    cfg = Config.preset("small").override({"vitals.regen_fraction": 1})
    assert cfg.vitals.regen_fraction == 1.0 and isinstance(cfg.vitals.regen_fraction, float)


def test_resolve_key_forms():
    assert resolve_key("horizon") == "episode.horizon"
    assert resolve_key("food_regrow_prob") == "resources.food_regrow_prob"
    assert resolve_key("spawn__mode") == "spawn.mode"
    assert resolve_key("spawn.mode") == "spawn.mode"
    assert resolve_key("melee_range") == "combat.melee_range"
    assert resolve_key("forage_xp") == "progression.forage_xp"
    assert resolve_key("n_npcs") == "npc.n_npcs"
    assert resolve_key("npc__leash") == "npc.leash"
    with pytest.raises(ConfigError, match="bogus"):
        resolve_key("bogus")


def test_make_config_takes_keyword_overrides():
    cfg = make_config("small", horizon=33, spawn__mode="concurrent", vision_radius="3")
    assert cfg.episode.horizon == 33
    assert cfg.spawn.mode == "concurrent"
    assert cfg.observe.vision_radius == 3
    assert cfg.map.size == 64
    with pytest.raises(ConfigError):
        make_config("small", horizon=0)


# ---------------------------------------------------------------------- TOML


def test_from_toml_reads_preset_and_tables(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(
        'preset = "small"\n'
        "[resources]\nfood_regrow_prob = 0.05\n"
        '[spawn]\nmode = "concurrent"\nn_agents = 12\n'
        "[vitals]\nregen_fraction = 1\nimmortal = true\n"
    )
    cfg = Config.from_toml(path)
    assert cfg.map.size == 64
    assert cfg.resources.food_regrow_prob == 0.05
    assert cfg.spawn.mode == "concurrent" and cfg.spawn.n_agents == 12
    assert cfg.vitals.regen_fraction == 1.0 and cfg.vitals.immortal is True


def test_from_toml_reads_the_combat_progression_and_npc_tables(tmp_path):
    path = tmp_path / "fight.toml"
    path.write_text(
        'preset = "small"\n'
        "[combat]\nmage_range = 6\nregen_in_combat = true\n"
        "[progression]\nxp_scale = 2\nmax_level = 50\n"
        "[npc]\nn_npcs = 0\nleash = 3\n"
    )
    cfg = Config.from_toml(path)
    assert (cfg.combat.mage_range, cfg.combat.regen_in_combat) == (6, True)
    assert (cfg.progression.xp_scale, cfg.progression.max_level) == (2.0, 50)
    assert type(cfg.progression.xp_scale) is float
    assert (cfg.npc.n_npcs, cfg.npc.leash) == (0, 3)


def test_from_toml_preset_argument(tmp_path):
    named = tmp_path / "named.toml"
    named.write_text('preset = "small"\n[episode]\nhorizon = 9\n')
    plain = tmp_path / "plain.toml"
    plain.write_text("[episode]\nhorizon = 9\n")
    assert Config.from_toml(plain, preset="large").map.size == 1024  # the caller's preset
    assert Config.from_toml(named, preset="small").map.size == 64  # both name the same one
    assert Config.from_toml(named).episode.horizon == 9
    with pytest.raises(ConfigError, match=r"^preset: .*'small'.*'medium'"):
        Config.from_toml(named, preset="medium")
    with pytest.raises(ConfigError, match="tiny"):
        Config.from_toml(plain, preset="tiny")
    base = Config.preset("large")
    assert Config.from_toml(named, base=base).map.size == 1024  # an explicit base wins over presets


def test_from_toml_uses_the_given_base(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("[episode]\nhorizon = 9\n")
    cfg = Config.from_toml(str(path), base=Config.preset("large"))
    assert cfg.map.size == 1024 and cfg.episode.horizon == 9
    assert Config.from_toml(path).map.size == Config().map.size


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("[episode\nhorizon = 9\n", "cannot read TOML"),
        ("horizon = 9\n", "horizon"),
        ("[episode]\nhorizon = 0\n", "episode.horizon"),
        ("[episode]\nhorizont = 10\n", "episode.horizont"),
        ("[nothing]\nx = 1\n", "nothing.x"),
        ('[spawn]\nn_agents = "many"\n', "spawn.n_agents"),
        ('preset = "huge"\n', "huge"),
    ],
)
def test_bad_toml_raises_config_error(tmp_path, text, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        Config.from_toml(path)
    assert fragment in str(err.value)


def test_missing_toml_file_raises_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        Config.from_toml(tmp_path / "absent.toml")


# ---------------------------------------------------------------------- derived numbers


@pytest.mark.parametrize(
    "max_health,fraction,expected",
    [(100, 0.1, 10), (100, 0.29, 29), (10, 0.3, 3), (7, 0.3, 2), (1, 0.99, 0), (50, 1.0, 50), (9, 0.0, 0)],
)
def test_regen_amount_is_the_floor_of_the_fraction(max_health, fraction, expected):
    cfg = Config().override({"vitals.max_health": max_health, "vitals.regen_fraction": fraction})
    assert cfg.regen_amount == expected


# ---------------------------------------------------------------------- no world on a bad config


@pytest.fixture
def no_world(monkeypatch):
    def refuse(config):
        raise AssertionError("a world was allocated for an invalid config")

    monkeypatch.setattr(WorldState, "allocate", staticmethod(refuse))


@pytest.mark.parametrize(
    "overrides",
    [{"horizon": 0}, {"spawn__n_agents": 0}, {"border": 3}, {"bogus": 1}, {"mode": "never"}, {"size": "big"}],
)
def test_bad_overrides_fail_before_a_world_is_built(no_world, overrides):
    with pytest.raises(ConfigError):
        VecEnv(1, "small", **overrides)
    with pytest.raises(ConfigError):
        neural_mmo.parallel_env("small", **overrides)


def test_unknown_preset_fails_before_a_world_is_built(no_world):
    with pytest.raises(ConfigError):
        VecEnv(1, "tiny")
    with pytest.raises(ConfigError):
        neural_mmo.env("tiny")


def test_an_invalid_config_object_never_reaches_a_world(no_world):
    with pytest.raises(ConfigError):
        VecEnv(1, config=Config(map=MapConfig(size=16, border=2)))
    with pytest.raises(ConfigError):
        neural_mmo.parallel_env(config=Config(vitals=VitalsConfig(max_health=-1)))


@pytest.mark.parametrize("key", [5, None, 1.5, ("map", "size")])
def test_non_string_override_keys_raise_config_error(key):
    with pytest.raises(ConfigError, match=re.escape(repr(key))):
        Config.preset("small").override({key: 1})
    with pytest.raises(ConfigError, match=re.escape(repr(key))):
        resolve_key(key)  # type: ignore[arg-type]


def test_bare_field_names_and_numpy_scalars_are_accepted():
    cfg = Config.preset("small").override(
        {"size": np.int64(16), "food_regrow_prob": np.float32(0.5), "immortal": np.bool_(True)}
    )
    assert (cfg.map.size, cfg.resources.food_regrow_prob, cfg.vitals.immortal) == (16, 0.5, True)
    assert type(cfg.map.size) is int and type(cfg.vitals.immortal) is bool


def test_a_near_miss_suggests_the_field():
    with pytest.raises(ConfigError, match="did you mean 'food_regrow_prob'"):
        Config.preset("small").override({"food_regrow_pro": 0.1})
    with pytest.raises(ConfigError, match="did you mean 'food_regrow_prob'"):
        Config.preset("small").override({"resources.food_regrow_pro": 0.1})


@pytest.mark.parametrize("preset", ["small", "large"])
def test_to_toml_reads_back_to_the_same_config(tmp_path, preset):
    cfg = Config.preset(preset).override(
        {"spawn.mode": "concurrent", "vitals.immortal": True, "regen_fraction": 0.3}
    )
    path = tmp_path / "cfg.toml"
    path.write_text(cfg.to_toml())
    assert Config.from_toml(path) == cfg


# ---------------------------------------------------------------------- hostile TOML


def test_toml_depth_counts_brackets_outside_strings_and_comments():
    from neural_mmo.config import toml_depth

    assert toml_depth("[map]\nsize = 3\n") == 1
    assert toml_depth("a = [[1], [2, [3]]]\n") == 3
    assert toml_depth("a = \"[[[[[[\"\nb = '{{{{'\n# [[[[[[\n") == 0
    assert toml_depth('a = """\n[[[[ " \\""" ]]\n"""\nb = [1]\n') == 1
    assert toml_depth("a = '''[[[[''' # [[\n") == 0


def test_a_deeply_nested_file_is_refused_before_parsing(tmp_path):
    from neural_mmo.config import MAX_TOML_DEPTH, load_toml

    path = tmp_path / "deep.toml"
    path.write_text("[episode]\nhorizon = " + "[" * 10_000 + "]" * 10_000 + "\n")
    with pytest.raises(ConfigError, match="nested 10000 levels deep, more than the 16"):
        Config.from_toml(path)
    inline = "a = " + "{b = " * 40 + "1" + "}" * 40 + "\n"
    with pytest.raises(ConfigError, match="nested 40"):
        load_toml(inline, "inline")
    dotted = ".".join(["k"] * (MAX_TOML_DEPTH + 5)) + " = 1\n"  # tables nested without brackets
    with pytest.raises(ConfigError, match="nested more than"):
        load_toml(dotted, "dotted")
    fine = "a = " + "[" * MAX_TOML_DEPTH + "]" * MAX_TOML_DEPTH + "\n"
    assert load_toml(fine, "fine")["a"] is not None


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("preset = [1]\n", "preset: [1] is an array"),
        ("[preset]\nx = 1\n", "is a table"),
        ("preset = 3\n", "preset: 3 is an int"),
        ("preset = true\n", "is a bool"),
        ("[map]\nsize = [64]\n", "map.size: [64] has type list"),
        ("[map]\nsize = {value = 64}\n", "map.size"),
        ("[map.size]\nvalue = 64\n", "map.size"),
    ],
)
def test_values_of_the_wrong_kind_are_config_errors(tmp_path, text, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        Config.from_toml(path)
    assert fragment in str(err.value)


@pytest.mark.parametrize("name", [["small"], {"a": 1}, 3, None])
def test_a_preset_that_is_not_a_name_is_a_config_error(name):
    with pytest.raises(ConfigError, match="unknown preset"):
        Config.preset(name)  # type: ignore[arg-type]


def test_set_pairs_refuses_empty_keys_and_conflicting_repeats():
    from neural_mmo.config import set_pairs

    assert set_pairs(["a=1", " b =2", "a=1"], "k=v") == {"a": "1", "b": "2"}
    with pytest.raises(ConfigError, match="expected k=v"):
        set_pairs(["=1"], "k=v")
    with pytest.raises(ConfigError, match="given twice"):
        set_pairs(["a=1", "a=2"], "k=v")


@pytest.mark.parametrize(
    "pairs,fragment",
    [
        ({"lr": "abc"}, "lr: 'abc' has type str; expected float"),
        ({"lr": "nan"}, "lr: nan is not finite"),
        ({"worlds": "2.5"}, "worlds: 2.5 has type float; expected int"),
        ({"anneal_lr": "1"}, "anneal_lr: 1 has type int; expected bool"),
        ({"preset": "huge"}, "preset: 'huge' is not one of"),
        ({"seed": str(2**64)}, "seed must be in [0, 2**64)"),
        ({"lr": "[" * 5000 + "]" * 5000}, "lr"),
    ],
)
def test_training_settings_of_the_wrong_type_are_config_errors(pairs, fragment):
    from neural_mmo.train.config import TrainConfig

    with pytest.raises(ConfigError) as err:
        TrainConfig().override(pairs)
    assert fragment in str(err.value)
    assert TrainConfig().override({"lr": "1"}).lr == 1.0  # an int where a float is wanted is fine
