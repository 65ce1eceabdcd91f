"""VecEnv: flat preallocated buffers, slot semantics, autoreset, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from _support import load_world

from neural_mmo.agents import RandomPolicy
from neural_mmo.config import Config, ConfigError
from neural_mmo.envs.vector import VecEnv
from neural_mmo.observe.heads import ActionHead, attack_value
from neural_mmo.testing import check_invariants
from neural_mmo.world.events import EventKind
from neural_mmo.world.materials import Material
from neural_mmo.world.vocabulary import Direction, Style


def small(num_worlds=1, **overrides):
    overrides.setdefault("map__size", 16)
    overrides.setdefault("spawn__n_agents", 8)
    return VecEnv(num_worlds, "small", **overrides)


def grass_config(size=8, n_agents=2, **overrides):
    """A small concurrent world for agents-only rules (no NPCs unless ``npc.n_npcs`` says so)."""
    return Config.preset("small").override(
        {
            "map.size": size,
            "spawn.n_agents": n_agents,
            "spawn.mode": "concurrent",
            "npc.n_npcs": 0,
            **overrides,
        }
    )


def moves(*values):
    """An action batch: one move per slot, no attacks."""
    out = np.zeros((len(values), 2), np.float64 if any(isinstance(v, float) for v in values) else np.int64)
    out[:, 0] = values
    return out


# ---------------------------------------------------------------------- construction and buffers


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2", None])
def test_num_worlds_must_be_a_positive_int(bad):
    with pytest.raises(ValueError, match="num_worlds"):
        VecEnv(bad, "small")


def test_buffers_are_flat_preallocated_and_reused():
    vec = small(3)
    assert vec.num_slots == 3 * 8 and vec.slots_per_world == 8 and vec.n_heads == 2
    obs, infos = vec.reset(seed=0)
    assert obs is vec.observations and infos is vec.infos
    for f in vec.layout.fields:
        assert obs[f.key].shape == (24, *f.shape) and obs[f.key].dtype == f.dtype
    assert vec.rewards.dtype == np.float32 and vec.rewards.shape == (24,)
    for name in ("terminations", "truncations", "alive", "spawned"):
        assert getattr(vec, name).dtype == np.bool_ and getattr(vec, name).shape == (24,)
    assert vec.agent_id.dtype == np.int64 and vec.invalid_actions.dtype == np.int32
    assert vec.episode_done.shape == (3,)
    assert set(infos) == {"alive", "agent_id", "spawned", "invalid_actions", "episode_done"}
    ids = {k: id(v) for k, v in obs.items()}
    out = vec.step(np.zeros((24, 2), np.int64))
    assert (
        out[0] is obs and out[1] is vec.rewards and out[2] is vec.terminations and out[3] is vec.truncations
    )
    assert out[4] is infos and {k: id(v) for k, v in out[0].items()} == ids


def test_step_before_reset_raises():
    with pytest.raises(RuntimeError, match="reset"):
        small().step(np.zeros((8, 2), np.int64))


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "bad", ["x", {"a": 1}, None, b"\x00", ["a"] * 16, object(), np.zeros(16, bool), [[True]] * 16]
)
def test_wrong_top_level_types_raise_type_error_and_leave_the_world_alone(bad):
    vec = small(2)
    vec.reset(seed=1)
    hashes = [w.state_hash() for w in vec.worlds]
    with pytest.raises(TypeError, match="actions must be"):
        vec.step(bad)
    assert [w.state_hash() for w in vec.worlds] == hashes
    vec.step(np.zeros((16, 2), np.int64))
    assert all(w.tick == 1 for w in vec.worlds)


@pytest.mark.parametrize(
    "shape",
    [(8, 2), (17, 2), (16, 1), (16, 3), (16,), (32,), (15,), (2, 8, 1), (), (1, 16, 2), (16, 2, 1), (4, 4, 2),
     (2, 8)],
)  # fmt: skip
def test_wrong_overall_shape_raises_value_error(shape):
    vec = small(2)
    vec.reset(seed=1)
    before = vec.worlds[0].state_hash()
    with pytest.raises(ValueError, match="shape"):
        vec.step(np.zeros(shape, np.int64))
    assert vec.worlds[0].state_hash() == before


def test_accepted_action_shapes():
    vec = small(2)
    vec.reset(seed=1)
    vec.step(np.zeros((16, 2), np.int64))
    vec.step(np.zeros((2, 8, 2), np.int32))
    vec.step([[0, 0]] * 16)
    vec.step(np.zeros((16, 2), np.float32))
    vec.step(np.zeros((16, 2), np.uint8))
    assert vec.worlds[0].tick == 5 and vec.worlds[1].tick == 5
    assert not vec.invalid_actions.any()


def test_a_flat_batch_of_moves_is_rejected_even_with_one_value_per_slot():
    vec = small(2)
    vec.reset(seed=1)
    before = [w.state_hash() for w in vec.worlds]
    with pytest.raises(ValueError, match=r"shape \(16, 2\)"):
        vec.step(np.ones(16, np.int64))
    assert [w.state_hash() for w in vec.worlds] == before and vec.worlds[0].tick == 0


@pytest.mark.parametrize(
    "seed,error", [(-1, ValueError), ("abc", TypeError), (1.5, TypeError), (None, TypeError)]
)
def test_invalid_seeds(seed, error):
    with pytest.raises(error, match="seed"):
        VecEnv(1, "small", seed=seed)
    vec = small()
    if seed is not None:
        with pytest.raises(error, match="seed"):
            vec.reset(seed=seed)


def test_invalid_actions_are_counted_for_living_slots_only():
    cfg = grass_config(n_agents=3)
    inner = np.full((8, 8), Material.GRASS, np.uint8)
    inner[0, 1] = Material.WATER
    vec = load_world(cfg, inner, [[0, 0], [4, 4]])
    actions = moves(Direction.EAST, 9, 3)  # water (masked), out of range, empty slot
    vec.step(actions)
    assert vec.invalid_actions.tolist() == [1, 1, 0]
    assert vec.worlds[0].agents.c[0] == cfg.map.border  # stayed
    vec.step(moves(-5, Direction.NORTH, 0))
    assert vec.invalid_actions.tolist() == [1, 0, 0]
    vec.step(moves(np.nan, 2.5, np.inf))
    assert vec.invalid_actions.tolist() == [1, 1, 0]
    # the attack head: row 0 (the agent itself) and rows without an entity are masked
    n_rows = vec.layout.n_entities
    attack_size = int(vec.layout.action_sizes[1])
    vec.step(np.array([[0, 1], [Direction.SOUTH, attack_size], [0, 5]]))
    assert vec.invalid_actions.tolist() == [1, 1, 0]
    vec.step(np.array([[-1, 2 + 2 * n_rows], [0, -3], [7, 7]]))
    assert vec.invalid_actions.tolist() == [2, 1, 0]
    vec.step(np.array([[np.nan, 2.5], [0.0, np.inf], [1.0, 1.0]]))
    assert vec.invalid_actions.tolist() == [2, 1, 0]


# ---------------------------------------------------------------------- slot semantics


def test_slot_semantics_over_a_random_run():
    vec = VecEnv(2, "small", seed=7, map__size=16, spawn__n_agents=12, food_decay=20, attempts_per_tick=2)
    obs, _ = vec.reset()
    policy = RandomPolicy(vec.layout, seed=7)
    S = vec.slots_per_world
    previous_ids = vec.agent_id.copy()
    seen_ids: list[set[int]] = [
        set(vec.agent_id[w * S : (w + 1) * S][vec.alive[w * S : (w + 1) * S]].tolist()) for w in range(2)
    ]
    deaths = spawns = 0
    for _ in range(150):
        vec.step(policy.act(obs))
        for w, state in enumerate(vec.worlds):
            block = slice(w * S, (w + 1) * S)
            check_invariants(state)
            assert (vec.alive[block] == state.agents.alive).all()
            assert (vec.agent_id[block][vec.alive[block]] == state.agents.agent_id[state.agents.alive]).all()
            dead = vec.terminations[block]
            assert not (dead & vec.alive[block]).any()
            assert (vec.agent_id[block][dead] == previous_ids[block][dead]).all()
            assert (vec.rewards[block][dead] == -1.0).all()
            assert (vec.rewards[block][~dead] == 0.0).all()
            empty = ~vec.alive[block] & ~dead
            assert (vec.agent_id[block][empty] == -1).all()
            assert (vec.observations["entity_mask"][block][empty] == 0).all()
            new = vec.spawned[block]
            assert (vec.alive[block][new]).all()
            for k in np.flatnonzero(new):
                agent = int(vec.agent_id[block][k])
                assert agent not in seen_ids[w]
                seen_ids[w].add(agent)
            kept = vec.alive[block] & ~new
            assert (vec.agent_id[block][kept] == previous_ids[block][kept]).all()
            deaths += int(dead.sum())
            spawns += int(new.sum())
        previous_ids = vec.agent_id.copy()
    assert deaths > 0 and spawns > 0
    assert not vec.truncations.any()


def test_horizon_truncates_then_autoreset_starts_a_new_episode():
    vec = VecEnv(1, "small", seed=3, map__size=16, spawn__n_agents=8, horizon=5, immortal=True)
    vec.reset()
    first_map = vec.worlds[0].material.copy()
    for t in range(1, 6):
        vec.step(np.zeros((8, 2), np.int64))
        assert vec.worlds[0].tick == t
        assert vec.episode_done[0] == (t == 5)
        assert (vec.truncations == (vec.alive if t == 5 else False)).all()
    assert vec.truncations.any()
    vec.step(np.full((8, 2), 1, np.int64))  # ignored: this step resets the world
    state = vec.worlds[0]
    assert state.tick == 0 and not vec.episode_done[0]
    assert not vec.truncations.any() and not vec.terminations.any()
    assert (vec.spawned == vec.alive).all() and vec.alive.any()
    assert (vec.rewards == 0).all()
    assert not (state.material == first_map).all()
    assert state.events.of_kind(EventKind.MOVE).size == 0  # the actions of the reset step were ignored
    ids = sorted(vec.agent_id[vec.alive].tolist())
    assert ids == list(range(len(ids)))  # ids restart with the episode


def test_without_autoreset_a_finished_world_idles_until_reset():
    vec = VecEnv(1, "small", seed=3, map__size=16, spawn__n_agents=8, horizon=3, autoreset=False)
    vec.reset()
    for _ in range(3):
        vec.step(np.zeros((8, 2), np.int64))
    assert vec.episode_done[0]
    tick_hash = vec.worlds[0].state_hash()
    for _ in range(2):
        vec.step(np.zeros((8, 2), np.int64))
        assert vec.episode_done[0]
        assert not vec.alive.any() and (vec.agent_id == -1).all()
        assert not vec.truncations.any() and not vec.terminations.any() and (vec.rewards == 0).all()
        assert vec.worlds[0].state_hash() == tick_hash
    vec.reset()
    assert not vec.episode_done[0] and vec.alive.any() and vec.worlds[0].tick == 0


def test_one_world_resetting_does_not_disturb_the_other():
    cfg = grass_config(n_agents=1)
    vec = VecEnv(2, config=cfg, seed=4)
    vec.reset()
    inner = np.full((8, 8), Material.GRASS, np.uint8)
    inner[0, 1] = Material.LAVA
    b = cfg.map.border
    material = np.full((cfg.grid_side, cfg.grid_side), Material.LAVA, np.uint8)
    material[b : b + 8, b : b + 8] = inner
    vec.load(0, material, np.array([[b, b]]))
    other = vec.worlds[1]
    vec.step(moves(Direction.EAST, 0))
    assert vec.terminations[0] and vec.rewards[0] == -1.0 and vec.episode_done.tolist() == [True, False]
    tick_other = other.tick
    vec.step(moves(0, 0))
    assert vec.worlds[0].tick == 0 and vec.spawned[0]
    assert other.tick == tick_other + 1 and not vec.spawned[1]


def test_reset_seed_restarts_the_sequence_and_plain_reset_moves_on():
    vec = small(2)
    vec.reset(seed=11)
    a = [w.state_hash() for w in vec.worlds]
    assert a[0] != a[1]
    vec.reset()
    b = [w.state_hash() for w in vec.worlds]
    assert b[0] != a[0] and b[1] != a[1]
    vec.reset(seed=11)
    assert [w.state_hash() for w in vec.worlds] == a
    fresh = VecEnv(2, "small", seed=11, map__size=16, spawn__n_agents=8)
    fresh.reset()
    assert [w.state_hash() for w in fresh.worlds] == a


# ---------------------------------------------------------------------- load


def test_load_places_agents_on_a_given_map():
    cfg = grass_config(n_agents=4)
    inner = np.full((8, 8), Material.FOREST, np.uint8)
    vec = load_world(cfg, inner, [[0, 0], [7, 7]])
    b = cfg.map.border
    assert vec.alive.tolist() == [True, True, False, False]
    assert vec.agent_id.tolist() == [0, 1, -1, -1]
    assert vec.spawned.tolist() == [True, True, False, False]
    state = vec.worlds[0]
    assert (state.material[b : b + 8, b : b + 8] == Material.FOREST).all()
    assert state.occupant[b, b] == 0 and state.occupant[b + 7, b + 7] == 1


@pytest.mark.parametrize(
    "material,placements,fragment",
    [
        (np.zeros((5, 5), np.uint8), None, "shape"),
        ("float", None, "integer grid"),
        ("seven", None, "values must be in"),
        ("negative", None, "values must be in"),
        ("grass", [[-1, 9]], "playable area"),
        ("grass", [[9, 99]], "playable area"),
        ("grass", [[9, 9], [9, 9]], "two placements"),
        ("grass", [[9, 9], [9, 10], [9, 11], [9, 12], [9, 13]], "placements for"),
        ("grass", [[0, 0]], "playable area"),  # the lava border
        ("grass", [[7, 9]], "playable area"),  # the border ring next to the playable area
        ("grass", [[9, 16]], "playable area"),  # one column past the playable area
        ("all grass", [[7, 9]], "rows and columns 8..15"),  # a spawnable border is still no place
        ("all grass", [[9, 16]], "playable area"),
        ("grass", [[8, 8], [15, 15], [9, 9], [7, 7]], "playable area"),
        ("water", [[9, 9]], "spawnable"),
    ],
)
def test_load_rejects_bad_maps_and_placements(material, placements, fragment):
    cfg = grass_config(n_agents=4)
    g = cfg.grid_side
    grids = {
        "float": np.zeros((g, g), np.float32),
        "seven": np.full((g, g), 7, np.uint8),
        "negative": np.full((g, g), -1, np.int16),
        "grass": np.full((g, g), Material.LAVA, np.uint8),
        "water": np.full((g, g), Material.LAVA, np.uint8),
        "all grass": np.full((g, g), Material.GRASS, np.uint8),
    }
    assert cfg.map.border == 8 and cfg.map.size == 8  # the placements above are written for this
    b = cfg.map.border
    grids["grass"][b : b + 8, b : b + 8] = Material.GRASS
    grids["water"][b : b + 8, b : b + 8] = Material.WATER
    grid = grids.get(material, material) if isinstance(material, str) else material
    vec = VecEnv(1, config=cfg, seed=0)
    vec.reset()
    before = vec.worlds[0].state_hash()
    with pytest.raises(ValueError, match=fragment):
        vec.load(0, grid, None if placements is None else np.array(placements))
    assert vec.worlds[0].state_hash() == before


def test_config_errors_are_config_errors():
    with pytest.raises(ConfigError):
        VecEnv(1, "small", spawn__n_agents=-3)


def test_load_accepts_the_corners_of_the_playable_area():
    cfg = grass_config(n_agents=4)
    inner = np.full((8, 8), Material.GRASS, np.uint8)
    vec = load_world(cfg, inner, [[0, 0], [0, 7], [7, 0], [7, 7]])
    b = cfg.map.border
    state = vec.worlds[0]
    assert [(int(state.agents.r[i]), int(state.agents.c[i])) for i in range(4)] == [
        (b, b), (b, b + 7), (b + 7, b), (b + 7, b + 7),
    ]  # fmt: skip
    check_invariants(state)


@pytest.mark.parametrize("world", [-1, 2, 1.0, True, "0", None, np.int64(5)])
def test_load_rejects_a_bad_world_index(world):
    cfg = grass_config(n_agents=2)
    vec = VecEnv(2, config=cfg, seed=0)
    vec.reset()
    before = [w.state_hash() for w in vec.worlds]
    with pytest.raises(ValueError, match="world must be"):
        vec.load(world, np.full((cfg.grid_side, cfg.grid_side), Material.GRASS, np.uint8))
    assert [w.state_hash() for w in vec.worlds] == before


def test_load_before_reset_resets_every_world_first():
    cfg = grass_config(n_agents=2)
    b = cfg.map.border
    material = np.full((cfg.grid_side, cfg.grid_side), Material.LAVA, np.uint8)
    material[b : b + 8, b : b + 8] = Material.GRASS
    vec = VecEnv(2, config=cfg, seed=6)
    vec.load(1, material, np.array([[b + 2, b + 3]]))
    reference = VecEnv(2, config=cfg, seed=6)
    reference.reset()
    assert vec.worlds[0].state_hash() == reference.worlds[0].state_hash()  # world 0 got its first episode
    loaded = vec.worlds[1]
    assert (loaded.material == material).all() and loaded.n_alive == 1
    assert (int(loaded.agents.r[0]), int(loaded.agents.c[0])) == (b + 2, b + 3)
    assert vec.alive.tolist() == [True, True, True, False]
    assert vec.spawned.tolist() == vec.alive.tolist() and not vec.episode_done.any()
    vec.step(np.zeros((4, 2), np.int64))  # no "call reset() first" error
    assert [w.tick for w in vec.worlds] == [1, 1]
    check_invariants(loaded)


# ---------------------------------------------------------------------- step_buffered


def test_step_buffered_equals_step_with_the_same_actions():
    kwargs = dict(seed=5, map__size=16, spawn__n_agents=8, food_decay=15, attempts_per_tick=2, horizon=40)
    a, b = VecEnv(2, "small", **kwargs), VecEnv(2, "small", **kwargs)
    assert a.action_buffer.shape == (16, 2) and a.action_buffer.dtype == np.int64
    a.reset()
    b.reset()
    rng = np.random.default_rng(5)
    happened = False
    for t in range(100):  # past the horizon: autoreset included
        actions = np.stack(
            [rng.integers(-2, 7, size=16), rng.integers(-2, int(a.layout.action_sizes[1]) + 2, size=16)],
            axis=1,
        )
        out_a = a.step(actions)
        b.action_buffer[:] = actions
        out_b = b.step_buffered()
        assert out_b[0] is b.observations and out_b[1] is b.rewards and out_b[4] is b.infos
        assert [w.state_hash() for w in a.worlds] == [w.state_hash() for w in b.worlds], t
        for x, y in zip(out_a[1:4], out_b[1:4]):
            assert (x == y).all(), t
        for key in a.observations:
            assert (a.observations[key] == b.observations[key]).all(), (t, key)
        for key in a.infos:
            assert (a.infos[key] == b.infos[key]).all(), (t, key)
        happened |= bool(a.terminations.any() and a.spawned.any() or a.episode_done.any())
    assert happened  # deaths, spawns or an episode end: the interesting paths were compared


def test_step_buffered_reuses_what_is_left_in_the_buffer_and_checks_it():
    cfg = grass_config(n_agents=2)
    inner = np.full((8, 8), Material.GRASS, np.uint8)
    inner[0, 1] = Material.WATER
    vec = load_world(cfg, inner, [[0, 0], [4, 4]])
    b = cfg.map.border
    vec.action_buffer[:] = moves(Direction.EAST, Direction.SOUTH)  # east is water: masked
    vec.step_buffered()
    assert vec.invalid_actions.tolist() == [1, 0]
    assert (int(vec.worlds[0].agents.r[1]), int(vec.worlds[0].agents.c[1])) == (b + 5, b + 4)
    vec.step_buffered()  # the staged actions stay until overwritten
    assert vec.invalid_actions.tolist() == [1, 0]
    assert (int(vec.worlds[0].agents.r[1]), int(vec.worlds[0].agents.c[1])) == (b + 6, b + 4)
    vec.action_buffer[:] = 2**40  # both heads of both slots
    vec.step_buffered()
    assert vec.invalid_actions.tolist() == [2, 2] and vec.worlds[0].agents.r[1] == b + 6
    vec.action_buffer[:, 1] = 0
    vec.step_buffered()
    assert vec.invalid_actions.tolist() == [1, 1]


def test_step_buffered_before_reset_raises():
    with pytest.raises(RuntimeError, match="reset"):
        small().step_buffered()


# ---------------------------------------------------------------------- continuous wipe-out


def lava_walk_config(**overrides):
    return grass_config(
        n_agents=1,
        **{"spawn.mode": "continuous", "spawn.attempts_per_tick": 1, "spawn.min_alive": 1, **overrides},
    )


def test_continuous_wipe_out_ends_the_episode_then_autoreset():
    cfg = lava_walk_config()
    inner = np.full((8, 8), Material.GRASS, np.uint8)
    inner[3, 4] = Material.LAVA
    vec = load_world(cfg, inner, [[3, 3]])
    vec.step(moves(Direction.STAY))
    assert vec.alive.tolist() == [True] and not vec.episode_done[0]
    vec.step(moves(Direction.EAST))  # into the lava; the slot freed this tick cannot be refilled
    state = vec.worlds[0]
    assert vec.terminations.tolist() == [True] and vec.rewards.tolist() == [-1.0]
    assert not vec.alive.any() and not vec.truncations.any() and vec.agent_id.tolist() == [0]
    assert vec.episode_done.tolist() == [True] and state.tick == 2 < cfg.episode.horizon
    vec.step(moves(Direction.NORTH))  # autoreset: a new episode, these actions are ignored
    state = vec.worlds[0]
    assert state.tick == 0 and not vec.episode_done[0]
    assert vec.alive.tolist() == [True] and vec.spawned.tolist() == [True] and vec.agent_id.tolist() == [0]
    assert not vec.terminations.any() and (vec.rewards == 0).all()
    assert state.events.of_kind(EventKind.MOVE).size == 0
    check_invariants(state)


def test_continuous_wipe_out_without_autoreset_idles():
    cfg = lava_walk_config()
    inner = np.full((8, 8), Material.GRASS, np.uint8)
    inner[3, 4] = Material.LAVA
    vec = load_world(cfg, inner, [[3, 3]], autoreset=False)
    vec.step(moves(Direction.EAST))
    assert vec.episode_done[0]
    before = vec.worlds[0].state_hash()
    vec.step(moves(0))
    assert vec.episode_done[0] and vec.worlds[0].state_hash() == before and not vec.alive.any()


def test_an_empty_continuous_world_without_min_alive_does_not_end():
    cfg = lava_walk_config(**{"spawn.min_alive": 0})
    inner = np.full((8, 8), Material.GRASS, np.uint8)
    inner[3, 4] = Material.LAVA
    vec = load_world(cfg, inner, [[3, 3]])
    vec.step(moves(Direction.EAST))
    assert vec.terminations.tolist() == [True] and not vec.alive.any()
    assert not vec.episode_done[0]  # with min_alive = 0 an empty world is a normal state
    vec.step(moves(0))  # every edge tile is free grass: the one attempt succeeds
    assert vec.worlds[0].tick == 2 and not vec.episode_done[0]
    assert vec.alive.tolist() == vec.spawned.tolist() == [True] and vec.agent_id.tolist() == [1]


def test_an_idle_world_publishes_empty_slots_and_no_stale_observations_or_events():
    vec = VecEnv(2, "small", seed=0, autoreset=False, spawn__mode="concurrent", map__size=16, n_agents=4,
                 food_decay=100, starvation_damage=100)  # fmt: skip
    vec.reset()
    vec.step(np.zeros((8, 2), np.int64))  # everyone starves on tick 1
    assert vec.episode_done.all() and vec.terminations.all()
    vec.step(np.ones((8, 2), np.int64))  # idle: nothing happens, nothing is stale
    assert not vec.alive.any() and (vec.agent_id == -1).all() and not vec.invalid_actions.any()
    assert not vec.terminations.any() and not vec.rewards.any()
    assert not vec.observations["entity_mask"].any()
    only_no_ops = np.zeros(vec.layout.n_actions, np.int8)
    only_no_ops[vec.layout.action_offsets] = 1  # value 0 of each head
    assert only_no_ops.tolist()[:6] == [1, 0, 0, 0, 0, 1] and only_no_ops.sum() == 2
    assert (vec.observations["action_mask"] == only_no_ops).all()
    assert (vec.observations["entities"] == 0).all() and (vec.observations["tiles"] == 0).all()
    assert all(world.events.n == 0 for world in vec.worlds)


def test_a_loaded_map_stays_until_unload_and_each_load_is_a_new_episode():
    vec = VecEnv(1, "small", seed=0, map__size=8, n_agents=2, horizon=3)
    g, b = vec.config.grid_side, vec.config.map.border
    grass = np.full((g, g), Material.LAVA, np.uint8)
    grass[b : b + 8, b : b + 8] = Material.GRASS
    vec.load(0, grass, [[b, b]])
    first = vec.worlds[0].streams.copy()
    vec.load(0, grass, [[b, b]])
    assert not (vec.worlds[0].streams == first).all()  # a new episode draws new numbers
    for _ in range(4):  # the horizon, then the autoreset step
        vec.step(np.zeros((2, 2), np.int64))
    assert vec.worlds[0].tick == 0 and (vec.worlds[0].material == grass).all()
    assert (vec.worlds[0].agents.r[0], vec.worlds[0].agents.c[0]) == (b, b)
    vec.unload(0)
    for _ in range(4):
        vec.step(np.zeros((2, 2), np.int64))
    assert vec.worlds[0].tick == 0 and not (vec.worlds[0].material == grass).all()


def test_float_placements_are_rejected():
    vec = VecEnv(1, "small", seed=0, map__size=8, n_agents=2)
    g, b = vec.config.grid_side, vec.config.map.border
    grass = np.full((g, g), Material.GRASS, np.uint8)
    with pytest.raises(ValueError, match="integer"):
        vec.load(0, grass, np.array([[b + 0.9, b]]))


@pytest.mark.parametrize(
    "bad, fragment",
    [
        (None, "NoneType"),
        ([0.0, 1.0], "shape (2,)"),
        ("x", "dtype <U1"),
        (np.zeros((64, 1)), "shape (64, 1)"),
    ],
)
def test_a_reward_function_returning_the_wrong_thing_gets_a_clear_type_error(bad, fragment):
    vec = VecEnv(1, "small", seed=0, reward_fn=lambda state, events: bad)
    vec.reset()
    with pytest.raises(TypeError, match="reward_fn must return 64 numbers") as err:
        vec.step(np.zeros((64, 2), np.int64))
    assert fragment in str(err.value)


def test_concurrent_spawning_fills_the_interior_when_the_ring_is_full():
    vec = VecEnv(1, "small", seed=0, spawn__mode="concurrent", map__size=6, n_agents=30)
    g, b = vec.config.grid_side, vec.config.map.border
    grass = np.full((g, g), Material.LAVA, np.uint8)
    grass[b : b + 6, b : b + 6] = Material.GRASS
    vec.unload(0)
    vec.load(0, grass)
    state = vec.worlds[0]
    assert state.n_alive == 30  # 20 on the ring, 10 inside, row by row
    check_invariants(state)
    inner = [(int(r), int(c)) for r, c in zip(state.agents.r[20:30], state.agents.c[20:30])]
    assert inner == sorted(inner) and all(b < r < b + 5 and b < c < b + 5 for r, c in inner)


# ---------------------------------------------------------------------- the attack head


def test_attack_rows_decode_to_the_entities_of_each_world():
    """Each world's slots decode attack rows against their own entity rows: the same action in
    two worlds whose entity 1 stands at a different place hits exactly where the mask allowed."""
    cfg = grass_config(n_agents=2, **{"combat.spawn_immunity": 0})
    vec = VecEnv(2, config=cfg, seed=0)
    b = cfg.map.border
    material = np.full((cfg.grid_side, cfg.grid_side), Material.LAVA, np.uint8)
    material[b : b + 8, b : b + 8] = Material.GRASS
    vec.load(0, material, np.array([[b + 3, b + 3], [b + 3, b + 4]]))  # adjacent: melee reaches
    vec.load(1, material, np.array([[b + 3, b + 3], [b + 3, b + 6]]))  # 3 apart: range, not melee
    n_rows = vec.layout.n_entities
    o = int(vec.layout.action_offsets[ActionHead.ATTACK])
    mask = vec.observations["action_mask"]
    melee_row1 = attack_value(Style.MELEE, 1, n_rows)
    range_row1 = attack_value(Style.RANGE, 1, n_rows)
    assert vec._entity_slot[[0, 2], 1].tolist() == [1, 1]  # row 1 of slot 0 is agent 1 in both worlds
    assert mask[0, o + melee_row1] == 1 and mask[2, o + melee_row1] == 0
    assert mask[0, o + range_row1] == 1 and mask[2, o + range_row1] == 1
    actions = np.zeros((4, 2), np.int64)
    actions[[0, 2], ActionHead.ATTACK] = melee_row1
    vec.step(actions)
    assert vec.invalid_actions.tolist() == [0, 0, 1, 0]  # masked in world 1: a counted no-op
    attacks = [w.events.rows() for w in vec.worlds]
    attacks = [[e for e in rows if e["kind"] == "ATTACK"] for rows in attacks]
    assert [(e["slot"], e["other"], e["detail"]) for e in attacks[0]] == [(0, 1, Style.MELEE)]
    assert attacks[1] == []
    actions[2, ActionHead.ATTACK] = range_row1
    actions[0, ActionHead.ATTACK] = 0
    vec.step(actions)
    attacks = [[e for e in w.events.rows() if e["kind"] == "ATTACK"] for w in vec.worlds]
    assert attacks[0] == [] and vec.invalid_actions.tolist() == [0, 0, 0, 0]
    assert [(e["slot"], e["other"], e["detail"]) for e in attacks[1]] == [(0, 1, Style.RANGE)]


def test_event_and_death_totals_match_the_event_logs():
    """``event_counts`` and ``death_causes`` are running totals of every world's event log,
    resets included (their spawns), across episodes."""
    from neural_mmo.agents import RandomPolicy
    from neural_mmo.world.events import EventKind

    vec = VecEnv(2, "small", seed=4, horizon=30, spawn__n_agents=16, map__size=32, npc__n_npcs=4)
    obs, _ = vec.reset()
    policy = RandomPolicy(vec.layout, seed=0)
    kinds = np.zeros_like(vec.event_counts)
    causes = np.zeros_like(vec.death_causes)
    for w, state in enumerate(vec.worlds):
        np.add.at(kinds[w], state.events.kind[: state.events.n], 1)
    for _ in range(70):  # two resets per world
        obs, *_ = vec.step(policy.act(obs))
        for w, state in enumerate(vec.worlds):
            ev = state.events
            np.add.at(kinds[w], ev.kind[: ev.n], 1)
            dead = ev.kind[: ev.n] == EventKind.DEATH
            np.add.at(causes[w], ev.value[: ev.n][dead], 1)
    np.testing.assert_array_equal(vec.event_counts, kinds)
    np.testing.assert_array_equal(vec.death_causes, causes)
    assert causes.sum() > 10 and kinds[:, EventKind.SPAWN].sum() > 32


def test_outputs_are_declared_once_and_derived():
    """Every OUTPUTS entry is a buffer of the env, in buffer_specs, and (when marked) in infos."""
    from neural_mmo.envs.vector import OUTPUTS, PER_WORLD, buffer_specs

    vec = VecEnv(2, preset="small", seed=0)
    specs = buffer_specs(vec.layout, 2)
    slots = 2 * vec.config.spawn.n_agents
    for name, out in OUTPUTS.items():
        assert name in VecEnv.__annotations__, name  # typed attribute for readers and type checkers
        array = getattr(vec, name)
        assert specs[name] == (array.shape, array.dtype)
        assert array.shape[0] == (2 if out.per_world else slots)
        assert (name in vec.infos) == out.info
        assert (name in PER_WORLD) == out.per_world
    assert set(VecEnv.__annotations__) <= set(OUTPUTS)
