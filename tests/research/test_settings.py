"""Experiment settings: automatic targeting, combat off, population caps per world, a fixed map."""

from __future__ import annotations

import numpy as np
import pytest
from _support import binomial_tolerance

from neural_mmo.config import Config, ConfigError
from neural_mmo.envs.settings import fixed_material, read_map_file, sampled_cap
from neural_mmo.envs.vector import VecEnv
from neural_mmo.observe.heads import ActionHead
from neural_mmo.observe.layout import ObsLayout
from neural_mmo.testing import Scenario
from neural_mmo.world.commands import Command
from neural_mmo.world.events import EventKind
from neural_mmo.world.rng import episode_seed, terrain_generator
from neural_mmo.world.step import commands_for
from neural_mmo.world.step import step as step_world
from neural_mmo.world.terrain import generate_terrain
from neural_mmo.world.vocabulary import Style

AUTO = {"combat__auto_target": True, "combat__spawn_immunity": 0, "immortal": True}

# agent 0 attacks; agents 1 (next to it), 2 (two tiles away) and 3 (four tiles away) are targets
ROW = """
.........
.........
.........
...10.2.3
.........
.........
.........
.........
.........
"""


def auto_attack(sc: Scenario, style: int, slot: int = 0) -> list[dict[str, int]]:
    """Agent ``slot`` attacks with ``style`` under automatic targeting; the tick's ATTACK events."""
    heads = np.zeros((sc.vec.num_slots, sc.vec.n_heads), np.int64)
    heads[slot, ActionHead.ATTACK] = style
    sc.step(heads=heads)
    return [e for e in sc.events(EventKind.ATTACK) if e["slot"] == slot]


def set_health(sc: Scenario, **health: int) -> None:
    for slot, value in health.items():
        sc.state.agents.health[int(slot[1:])] = value
    sc.refresh()


def auto_mask(sc: Scenario, slot: int = 0) -> list[int]:
    o = int(sc.vec.layout.action_offsets[ActionHead.ATTACK])
    return sc.vec.observations["action_mask"][slot, o : o + 4].tolist()


def test_the_attack_head_names_a_style_only_under_automatic_targeting():
    learned = ObsLayout(Config.preset("small"))
    auto = ObsLayout(Config.preset("small").override({"combat.auto_target": True}))
    assert learned.heads[ActionHead.ATTACK].size == 1 + 3 * learned.n_entities
    assert auto.heads[ActionHead.ATTACK].size == 4
    assert auto.heads[ActionHead.ATTACK].entity_blocks == 0
    assert auto.heads[ActionHead.MOVE] == learned.heads[ActionHead.MOVE]


@pytest.mark.parametrize(
    ("style", "health", "target"),
    [
        (Style.MELEE, {"a1": 90, "a2": 10, "a3": 5}, 1),  # only agent 1 is within reach 1
        (Style.RANGE, {"a1": 90, "a2": 10, "a3": 5}, 2),  # reach 3: agents 1 and 2; 2 is weaker
        (Style.MAGE, {"a1": 90, "a2": 10, "a3": 5}, 3),  # reach 4: all three; 3 is the weakest
        (Style.MAGE, {"a1": 7, "a2": 10, "a3": 50}, 1),
    ],
)
def test_automatic_targeting_picks_the_lowest_health_entity_in_the_styles_reach(style, health, target):
    sc = Scenario(ROW, **AUTO)
    set_health(sc, **health)
    attacks = auto_attack(sc, style)
    assert [(e["other"], e["detail"]) for e in attacks] == [(target, int(style))]


def test_ties_go_to_the_nearest_then_to_the_lowest_entity_number():
    sc = Scenario(ROW, **AUTO)
    set_health(sc, a1=40, a2=40, a3=40)
    assert [e["other"] for e in auto_attack(sc, Style.MAGE)] == [1]  # nearest
    drawing = """
    .....
    .1.2.
    ..0..
    .....
    .....
    """
    sc = Scenario(drawing, **AUTO)
    set_health(sc, a1=40, a2=40)
    assert [e["other"] for e in auto_attack(sc, Style.MELEE)] == [1]  # same distance: lower number


def test_immune_agents_are_skipped_and_npcs_are_targets():
    drawing = """
    .......
    .......
    ..1.n..
    ...0...
    .......
    .......
    .......
    """
    sc = Scenario(drawing, combat__auto_target=True, combat__spawn_immunity=5, immortal=True)
    npc = sc.npc_entity(0)
    for immune in (True, False):
        sc.state.agents.health[1] = 1  # the weakest, immune for the first 5 ticks
        sc.state.npcs.health[0] = 8
        sc.refresh()
        assert [e["other"] for e in auto_attack(sc, Style.RANGE)] == [npc if immune else 1]
        sc.run(5)


def test_a_style_is_allowed_when_something_attackable_is_in_its_reach():
    sc = Scenario(ROW, **AUTO)
    assert auto_mask(sc, 0) == [1, 1, 1, 1]
    assert auto_mask(sc, 3) == [1, 0, 1, 1]  # agent 2 is two tiles away, agent 0 four
    far = """
    0.......
    ........
    ........
    ........
    ........
    .......1
    ........
    ........
    """
    sc = Scenario(far, **AUTO)
    assert auto_mask(sc, 0) == [1, 0, 0, 0]
    assert auto_attack(sc, Style.MAGE) == []  # nothing in reach: the masked attack is a no-op
    assert sc.vec.invalid_actions[0] == 1


def test_learned_targeting_and_defaults_keep_the_named_target():
    sc = Scenario(ROW, combat__spawn_immunity=0, immortal=True)
    set_health(sc, a1=90, a2=10, a3=5)
    sc.step(attacks={0: (Style.MAGE, 1)})  # agent 1 is not the weakest: learned targeting keeps it
    assert [e["other"] for e in sc.events(EventKind.ATTACK) if e["slot"] == 0] == [1]


def test_combat_off_drops_every_attack_and_masks_the_head():
    sc = Scenario(ROW, combat__enabled=False, combat__spawn_immunity=0, immortal=True)
    o = int(sc.vec.layout.action_offsets[ActionHead.ATTACK])
    mask = sc.vec.observations["action_mask"][:, o : o + sc.vec.layout.heads[ActionHead.ATTACK].size]
    assert mask[:, 0].all() and not mask[:, 1:].any()
    commands = commands_for(sc.state)
    commands[0, Command.STYLE] = Style.MELEE
    commands[0, Command.TARGET] = 1  # straight to the world, past the masks
    step_world(sc.state, commands)
    assert sc.events(EventKind.ATTACK) == []
    assert sc.state.agents.health[1] == sc.config.vitals.max_health


def test_combat_off_needs_no_npcs():
    with pytest.raises(ConfigError, match="npc.n_npcs"):
        Config.preset("small").override({"combat.enabled": False})
    Config.preset("small").override({"combat.enabled": False, "npc.n_npcs": 0})


# ---------------------------------------------------------------------- population caps


def test_sampled_caps_are_uniform_over_1_to_c():
    cfg = Config.preset("small").override({"spawn.cap": 8, "spawn.sample_cap": True})
    draws = np.array([sampled_cap(cfg, 7, w, e) for w in range(40) for e in range(100)])
    assert draws.min() == 1 and draws.max() == 8
    counts = np.bincount(draws, minlength=9)[1:]
    expected = len(draws) / 8
    assert np.all(np.abs(counts - expected) <= binomial_tolerance(len(draws), 1 / 8)), counts
    assert len({sampled_cap(cfg, 7, 0, e) for e in range(30)}) > 1, "episodes draw again"
    uncapped = cfg.override({"spawn.cap": 0})
    assert max(sampled_cap(uncapped, 1, w, 0) for w in range(400)) == cfg.spawn.n_agents


def test_each_world_holds_at_most_its_own_cap():
    env = VecEnv(6, "small", seed=3, spawn__cap=12, spawn__sample_cap=True, npc__n_npcs=0,
                 spawn__attempts_per_tick=8, vitals__immortal=True)  # fmt: skip
    env.reset()
    caps = env.spawn_caps.copy()
    assert len(set(caps.tolist())) > 1 and caps.min() >= 1 and caps.max() <= 12
    S = env.slots_per_world
    seen = np.zeros(6, np.int64)
    actions = np.zeros((env.num_slots, env.n_heads), np.int64)
    for _ in range(60):
        env.step(actions)
        alive = env.alive.reshape(6, S).sum(axis=1)
        assert (alive <= caps).all()
        seen = np.maximum(seen, alive)
    assert (seen == caps).all(), "every world fills up to its cap"
    assert [sampled_cap(env.config, 3, w, 0) for w in range(6)] == caps.tolist()


def test_concurrent_worlds_spawn_exactly_their_cap():
    env = VecEnv(4, "small", seed=5, spawn__mode="concurrent", spawn__cap=20, spawn__sample_cap=True)
    env.reset()
    alive = env.alive.reshape(4, -1).sum(axis=1)
    assert alive.tolist() == env.spawn_caps.tolist()
    fixed = VecEnv(1, "small", seed=5, spawn__mode="concurrent", spawn__cap=20)
    fixed.reset()
    assert int(fixed.alive.sum()) == 20


def test_a_cap_above_the_slots_is_refused():
    with pytest.raises(ConfigError, match="spawn.cap"):
        Config.preset("small").override({"spawn.cap": 65})


def test_sampled_caps_survive_a_save(tmp_path):
    env = VecEnv(3, "small", seed=2, spawn__cap=30, spawn__sample_cap=True)
    env.reset()
    env.step(np.zeros((env.num_slots, env.n_heads), np.int64))
    env.save(tmp_path / "s.nmmo")
    back = VecEnv.from_save(tmp_path / "s.nmmo")
    assert back.spawn_caps.tolist() == env.spawn_caps.tolist()
    assert [w.rules.spawn.cap for w in back.worlds] == env.spawn_caps.tolist()


# ---------------------------------------------------------------------- fixed maps


def test_a_fixed_seed_gives_every_episode_of_every_world_the_same_map():
    env = VecEnv(3, "small", seed=9, map__fixed_seed=4, autoreset=True)
    maps = []
    for _ in range(3):
        env.reset()
        maps += [w.material.copy() for w in env.worlds]
    for m in maps[1:]:
        np.testing.assert_array_equal(m, maps[0])
    cfg = env.config
    np.testing.assert_array_equal(maps[0], generate_terrain(cfg, terrain_generator(episode_seed(4, 0, 0))))
    other = fixed_material(cfg.override({"map.fixed_seed": 5}))
    assert (other != maps[0]).any(), "another seed, another map"
    free = VecEnv(2, "small", seed=9)
    free.reset()
    assert (free.worlds[0].material != free.worlds[1].material).any(), "by default each world its own"


def test_a_map_file_is_played_by_every_episode(tmp_path):
    cfg = Config.preset("small")
    inner = np.full((cfg.map.size, cfg.map.size), 2, np.uint8)
    inner[10:20, 10:20] = 1  # a lake
    inner[30:40, 30:40] = 4  # a wood
    np.save(tmp_path / "m.npy", inner)
    env = VecEnv(2, config=cfg.override({"map.file": str(tmp_path / "m.npy")}), seed=1)
    for _ in range(2):
        env.reset()
        b, n = cfg.map.border, cfg.map.size
        for world in env.worlds:
            np.testing.assert_array_equal(world.material[b : b + n, b : b + n], inner)
            assert (world.material[:b] == 0).all(), "a lava border around the playable square"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (np.zeros((5, 5), np.uint8), "grid"),
        (np.full((64, 64), 9, np.uint8), "materials"),
        (np.zeros((64, 64), np.float32), "integer"),
        (np.zeros((64, 64), np.uint8), "spawn"),  # all lava
        (b"not a numpy file", "cannot read"),
    ],
)
def test_bad_map_files_are_refused_clearly(tmp_path, content, message):
    path = tmp_path / "bad.npy"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        np.save(path, content)
    cfg = Config.preset("small")
    with pytest.raises(ConfigError, match=message):
        read_map_file(path, cfg)
    with pytest.raises(ConfigError, match="map.file"):
        VecEnv(1, config=cfg.override({"map.file": str(path)}))
