"""The PettingZoo API: contract tests on every preset, spaces, agents, episode ends, bad input."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping

import numpy as np
import pytest
from _support import make_scenario
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.test import api_test, parallel_api_test
from pettingzoo.utils.conversions import parallel_to_aec

import neural_mmo
from neural_mmo.agents import RandomPolicy, act_dict
from neural_mmo.envs.parallel import AgentNames, agent_number
from neural_mmo.observe.heads import attack_value
from neural_mmo.observe.layout import EntityColumn as E
from neural_mmo.world.vocabulary import Direction, Style

CONTRACT_CASES = [
    ("small", {"horizon": 60}, 100),
    ("medium", {"horizon": 60}, 80),
    ("large", {"horizon": 25, "agent_names": "unique"}, 30),  # slot names: 1,024 every tick, slow here
    ("small", {"horizon": 60, "spawn__mode": "concurrent"}, 100),
    ("medium", {"horizon": 40, "spawn__mode": "concurrent"}, 50),
    ("large", {"horizon": 20, "spawn__mode": "concurrent"}, 25),
    ("small", {"horizon": 60, "n_populations": 4}, 100),
    ("medium", {"horizon": 40, "n_populations": 4}, 50),
    ("large", {"horizon": 20, "n_populations": 4, "agent_names": "unique"}, 25),
    ("small", {"horizon": 40, "n_populations": 4, "spawn__mode": "concurrent", "food_decay": 40}, 60),
    *(
        (
            preset,
            {"horizon": h, "item__enabled": True, "profession__enabled": True, "exchange__enabled": True},
            c,
        )
        for preset, h, c in (("small", 60, 80), ("medium", 40, 50), ("large", 20, 25))
    ),  # the economy, the exchange included
]


@pytest.mark.parametrize(
    "preset,overrides,cycles", CONTRACT_CASES, ids=[f"{p}-{o}" for p, o, _ in CONTRACT_CASES]
)
def test_pettingzoo_contracts(preset, overrides, cycles):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parallel_api_test(neural_mmo.parallel_env(preset, **overrides), num_cycles=cycles)
        api_test(parallel_to_aec(neural_mmo.parallel_env(preset, **overrides)), num_cycles=cycles)
        if preset != "large":
            api_test(neural_mmo.env(preset, **overrides), num_cycles=min(cycles, 20))


# ---------------------------------------------------------------------- spaces and names


def test_spaces_are_one_object_for_every_agent():
    env = neural_mmo.parallel_env("small", seed=0, agent_names="unique")
    env.reset()
    a, b = "player_0", "player_123"
    assert env.observation_space(a) is env.observation_space(a) is env.observation_space(b)
    assert env.action_space(a) is env.action_space(a) is env.action_space(b)
    assert env.observation_spaces[a] is env.observation_space(a)
    assert env.action_spaces[b] is env.action_space(b)
    assert a in env.observation_spaces and "nobody" not in env.observation_spaces
    with pytest.raises(KeyError):
        env.observation_spaces["nobody"]
    for spaces_by_agent, space in ((env.observation_spaces, env.observation_space(a)),
                                   (env.action_spaces, env.action_space(a))):  # fmt: skip
        assert isinstance(spaces_by_agent, Mapping)
        assert len(spaces_by_agent) == len(env.possible_agents)
        assert list(itertools.islice(spaces_by_agent, 3)) == ["player_0", "player_1", "player_2"]
        assert spaces_by_agent.get("nobody") is None and spaces_by_agent.get(a) is space
        last = env.possible_agents[-1]
        assert last in spaces_by_agent and spaces_by_agent[last] is space
        assert f"player_{len(env.possible_agents)}" not in spaces_by_agent
        assert 7 not in spaces_by_agent
    assert env.observation_spaces is env.observation_spaces  # built once, lazily
    small = neural_mmo.parallel_env(
        "small", spawn__mode="concurrent", spawn__n_agents=3, agent_names="unique"
    )
    assert dict(small.action_spaces) == {f"player_{k}": small.action_space(None) for k in range(3)}


def test_agent_names_pool():
    names = AgentNames(5)
    assert len(names) == 5 and list(names) == [f"player_{k}" for k in range(5)]
    assert names[0] == "player_0" and names[-1] == "player_4" and names[1:3] == ["player_1", "player_2"]
    with pytest.raises(IndexError):
        names[5]
    assert "player_4" in names and "player_5" not in names and "player_01" not in names and 3 not in names
    assert names == [f"player_{k}" for k in range(5)] and names != ["player_0"]
    assert agent_number("player_17") == 17 and agent_number("player_-1") is None
    assert agent_number("player_") is None and agent_number(17) is None and agent_number("player_0") == 0


@pytest.mark.parametrize(
    "overrides,expected",
    [
        ({"spawn__mode": "concurrent"}, 64),
        ({"horizon": 10, "attempts_per_tick": 3, "min_alive": 1}, 64 + 10 * 4),
        ({"persistent": True}, 2**31 - 1),
    ],
)
def test_possible_agents_bound_every_name_that_can_appear(overrides, expected):
    env = neural_mmo.parallel_env("small", agent_names="unique", **overrides)
    assert len(env.possible_agents) == expected


def test_every_name_seen_is_in_possible_agents():
    env = neural_mmo.parallel_env(
        "small", seed=2, horizon=100, attempts_per_tick=8, min_alive=3, food_decay=30, agent_names="unique"
    )
    obs, _ = env.reset()
    policy = RandomPolicy(env.layout, seed=2)
    seen = set(env.agents)
    while env.agents:
        obs, *_ = env.step(act_dict(policy, obs))
        seen |= set(obs)
    assert len(seen) > 64
    assert all(name in env.possible_agents for name in seen)


# ---------------------------------------------------------------------- reset and step


def test_reset_returns_observations_and_zero_invalid_counts_for_every_agent():
    env = neural_mmo.parallel_env("small", seed=5, spawn__mode="concurrent", agent_names="unique")
    obs, infos = env.reset()
    assert len(env.agents) == 64 and set(obs) == set(env.agents) == set(infos)
    assert all(info == {"invalid_actions": 0} for info in infos.values())
    assert env.agents == [f"player_{k}" for k in range(64)]


def test_reset_with_a_seed_repeats_and_without_moves_on():
    env = neural_mmo.parallel_env("small", seed=5)
    env.reset(seed=9)
    first = env.state_hash()
    env.reset()
    assert env.state_hash() != first
    env.reset(seed=9)
    assert env.state_hash() == first


@pytest.mark.parametrize("seed,error", [(-1, ValueError), ("abc", TypeError), (1.5, TypeError)])
def test_invalid_seeds_raise(seed, error):
    env = neural_mmo.parallel_env("small")
    with pytest.raises(error, match="seed"):
        env.reset(seed=seed)
    with pytest.raises(error, match="seed"):
        neural_mmo.parallel_env("small", seed=seed)


@pytest.mark.parametrize("bad", [[1, 2], "x", None, 3, (("player_0", 1),)])
def test_step_with_a_non_dict_raises_type_error(bad):
    env = neural_mmo.parallel_env("small", seed=0)
    env.reset()
    before = env.state_hash()
    with pytest.raises(TypeError, match="dict"):
        env.step(bad)
    assert env.state_hash() == before


def test_unknown_and_dead_agents_are_ignored_and_counted():
    sc_env = neural_mmo.parallel_env(
        "small", seed=0, spawn__mode="concurrent", food_decay=100, max_food=100, starvation_damage=100
    )
    obs, _ = sc_env.reset()
    obs, _, terms, _, _ = sc_env.step({})
    obs, _, terms, _, _ = sc_env.step({})  # everyone starves on tick 2
    assert all(terms.values()) and sc_env.agents == []
    assert sc_env.vec.episode_done[0]
    tick = sc_env.world.tick
    assert sc_env.step({"player_0": 1, "nobody": 2}) == ({}, {}, {}, {}, {})
    assert sc_env.world.tick == tick  # a finished episode does not step

    env = neural_mmo.parallel_env("small", seed=0)
    env.reset()
    env.step({"player_999999": 1, "not a player": 1, 7: 1, None: 0})
    assert env.ignored_actions == 4
    env.reset()
    assert env.ignored_actions == 0


def test_actions_sent_after_the_episode_ended_are_counted_as_ignored():
    env = neural_mmo.parallel_env(
        "small", seed=0, spawn__mode="concurrent", food_decay=100, max_food=100, starvation_damage=100
    )
    env.reset()
    env.step({})
    env.step({})  # everyone starves on tick 2
    assert env.agents == [] and env.ignored_actions == 0
    assert env.step({"player_0": 1, "nobody": 2}) == ({}, {}, {}, {}, {})
    assert env.ignored_actions == 2


def test_death_is_reported_once_with_reward_minus_one_then_the_agent_is_gone():
    sc = make_scenario("""
        0L......
        ........
        ........
        ........
        ........
        ........
        ........
        .......1
    """)
    env = neural_mmo.parallel_env(config=sc.config, agent_names="unique")
    env.reset()
    env.vec.load(
        0, sc.state.material.copy(), np.array([[sc.border, sc.border], [sc.border + 7, sc.border + 7]])
    )
    env.agents = ["player_0", "player_1"]
    obs, rewards, terms, truncs, infos = env.step({"player_0": Direction.EAST, "player_1": 0})
    assert terms == {"player_0": True, "player_1": False}
    assert rewards == {"player_0": -1.0, "player_1": 0.0}
    assert truncs == {"player_0": False, "player_1": False}
    assert set(obs) == {"player_0", "player_1"}
    assert env.agents == ["player_1"]
    obs, rewards, terms, truncs, infos = env.step({"player_1": 0})
    assert set(obs) == set(rewards) == set(terms) == {"player_1"}


def test_attacks_through_pettingzoo_decode_rows_and_count_bad_values():
    sc = make_scenario(
        """
        ........
        ........
        ...01...
        ........
        ........
        ........
        ........
        ........
    """,
        spawn_immunity=0,
    )
    env = neural_mmo.parallel_env(config=sc.config, agent_names="unique")
    env.reset()
    b = sc.border
    env.vec.load(0, sc.state.material.copy(), np.array([[b + 2, b + 3], [b + 2, b + 4]]))
    obs = env._observations()[2]
    n_rows = env.layout.n_entities
    assert obs["player_0"]["entities"][1][2:4].tolist() == [b + 2, b + 4]  # row 1: player_1, east
    melee = attack_value(Style.MELEE, 1, n_rows)

    def attacks():
        return [
            (e["slot"], e["other"], e["detail"]) for e in env.world.events.rows() if e["kind"] == "ATTACK"
        ]

    _, _, _, _, infos = env.step({"player_0": {"attack": melee}, "player_1": [0, 0]})
    assert attacks() == [(0, 1, Style.MELEE)]
    assert infos == {"player_0": {"invalid_actions": 0}, "player_1": {"invalid_actions": 0}}
    mage = attack_value(Style.MAGE, 1, n_rows)
    empty_row = attack_value(Style.MELEE, 5, n_rows)
    _, _, _, _, infos = env.step({"player_0": (Direction.WEST, mage), "player_1": {"attack": empty_row}})
    assert attacks() == [(0, 1, Style.MAGE)] and env.world.agents.c[0] == b + 2  # attacked, then moved
    assert infos["player_0"]["invalid_actions"] == 0 and infos["player_1"]["invalid_actions"] == 1
    _, _, _, _, infos = env.step({"player_0": {"move": 9, "attack": 10**6}, "player_1": {"attack": 1.5}})
    assert attacks() == []
    assert infos["player_0"]["invalid_actions"] == 2 and infos["player_1"]["invalid_actions"] == 1


def test_horizon_truncates_everyone_and_empties_agents():
    horizon = 7
    env = neural_mmo.parallel_env("small", seed=1, horizon=horizon, immortal=True)
    obs, _ = env.reset()
    for t in range(1, horizon + 1):
        live = list(env.agents)
        obs, rewards, terms, truncs, infos = env.step({a: 0 for a in live})
        if t < horizon:
            assert not any(truncs.values()) and env.agents
        else:
            assert set(truncs) == set(obs) and all(truncs.values()) and not any(terms.values())
            assert env.agents == []
    assert env.world.tick == horizon
    assert env.step({}) == ({}, {}, {}, {}, {})
    assert env.world.tick == horizon


def test_spawned_agents_appear_in_agents_and_every_dict_on_their_first_tick():
    env = neural_mmo.parallel_env("small", seed=4, attempts_per_tick=3, agent_names="unique")
    obs, _ = env.reset()
    policy = RandomPolicy(env.layout, seed=4)
    appeared = 0
    for _ in range(40):
        before = set(env.agents)
        obs, rewards, terms, truncs, infos = env.step(act_dict(policy, obs))
        new = set(env.agents) - before
        appeared += len(new)
        for name in new:
            assert name in obs and name in rewards and name in terms and name in truncs and name in infos
            assert int(name.split("_")[1]) >= len(before)
        assert set(obs) == set(rewards) == set(terms) == set(truncs) == set(infos)
        assert set(env.agents) == {a for a in obs if not terms[a] and not truncs[a]}
    assert appeared > 0


def test_render_modes():
    with pytest.raises(ValueError, match="render_mode"):
        neural_mmo.parallel_env("small", render_mode="window")
    env = neural_mmo.parallel_env("small", seed=0)
    env.reset()
    with pytest.warns(UserWarning, match="render_mode='rgb_array'"):
        assert env.render() is None
    env = neural_mmo.parallel_env("small", render_mode="rgb_array", seed=0)
    env.reset()
    image = env.render()
    g = env.config.grid_side
    assert image.shape == (4 * g, 4 * g, 3) and image.dtype == np.uint8
    env.close()


def test_two_envs_with_different_configs_do_not_interfere():
    a = neural_mmo.parallel_env("small", seed=3, map__size=16, spawn__n_agents=8)
    b = neural_mmo.parallel_env("small", seed=3, map__size=32, spawn__n_agents=20, vision_radius=3)
    a.reset()
    hash_a = a.state_hash()
    b.reset()
    for _ in range(5):
        b.step({name: 1 for name in b.agents})
    a2 = neural_mmo.parallel_env("small", seed=3, map__size=16, spawn__n_agents=8)
    a2.reset()
    assert a2.state_hash() == hash_a == a.state_hash()
    assert a.observation_space("player_0")["tiles"].shape == (15, 15, 2)
    assert b.observation_space("player_0")["tiles"].shape == (7, 7, 2)


@pytest.mark.parametrize("action", [np.array(2.5), np.array(-1), np.array(2**40)], ids=str)
def test_zero_dim_invalid_array_actions_are_counted_no_ops(action):
    env = neural_mmo.parallel_env("small", seed=0)
    env.reset()
    agent = env.agents[0]
    _, _, _, _, infos = env.step({agent: action})
    assert infos[agent]["invalid_actions"] == 1


def test_persistent_possible_agents_is_a_lazy_unbounded_pool():
    """Persistent worlds never run out of ids, so the pool is lazy; membership and indexing work
    without building it (PettingZoo's own API tests, which build a set of it, are skipped by
    check_env there, as documented)."""
    env = neural_mmo.parallel_env("small", persistent=True, agent_names="unique")
    pool = env.possible_agents
    assert len(pool) == 2**31 - 1
    assert "player_123456789" in pool and "player_-1" not in pool and "player_007" not in pool
    assert pool[5] == "player_5" and pool[-1] == f"player_{2**31 - 2}"
    assert list(itertools.islice(pool, 3)) == ["player_0", "player_1", "player_2"]


def test_pettingzoo_state_method_is_not_shadowed():
    aec = neural_mmo.env("small", seed=0)
    aec.reset(seed=0)
    state = aec.state()
    assert isinstance(state, np.ndarray)
    parallel = neural_mmo.parallel_env("small", seed=0)
    parallel.reset(seed=0)
    assert callable(parallel.state) and (parallel.state() == state).all()
    assert parallel.world is parallel.vec.worlds[0]


def test_state_is_the_material_and_occupant_codes_of_the_whole_grid():
    """The occupant channel codes agents by population and NPCs by behaviour, like the
    observation's OCCUPANT tile channel (each agent's crop is a window of it)."""
    n_pop = 3
    env = neural_mmo.parallel_env(
        "small", seed=3, n_populations=n_pop, attempts_per_tick=4, agent_names="unique"
    )
    policy = RandomPolicy(env.layout, seed=3)
    obs, _ = env.reset()
    g = env.config.grid_side
    radius = env.layout.radius
    assert env.state_space.shape == (g, g, 2) and env.state_space.dtype == np.uint8
    seen_codes = set()
    for _ in range(20):
        state = env.state()
        assert state.shape == (g, g, 2) and state.dtype == np.uint8
        assert env.state_space.contains(state)
        world = env.world
        assert (state[..., 0] == world.material).all()
        expected = np.zeros((g, g), np.uint8)
        a, npcs = world.agents, world.npcs
        for i in np.flatnonzero(a.alive):
            expected[a.r[i], a.c[i]] = a.population[i] + 1
        for j in np.flatnonzero(npcs.alive):
            expected[npcs.r[j], npcs.c[j]] = n_pop + npcs.behaviour[j]
        assert (state[..., 1] == expected).all()
        n_npcs = int(npcs.alive.sum())
        assert n_npcs > 0
        assert np.count_nonzero(state[..., 1]) == len(env.agents) + n_npcs == world.n_alive + n_npcs
        for name in env.agents:
            r, c = obs[name]["entities"][0][[E.ROW, E.COL]]
            window = state[r - radius : r + radius + 1, c - radius : c + radius + 1, 1]
            assert (obs[name]["tiles"][..., 1] == window).all(), name
        seen_codes |= set(np.unique(state[..., 1]).tolist())
        state[...] = 0  # a fresh array: writing to it leaves the world alone
        assert (env.state()[..., 0] == world.material).all()
        obs, *_ = env.step(act_dict(policy, obs))
    assert {0, 1, 2, 3} <= seen_codes  # nobody, and the three populations
    assert seen_codes - {0, 1, 2, 3} and seen_codes <= {0, 1, 2, 3, 4, 5, 6}  # NPCs: 3 + Behaviour


def test_state_without_npcs_holds_only_agent_populations():
    env = neural_mmo.parallel_env("small", seed=3, n_populations=3, npc__n_npcs=0, spawn__mode="concurrent")
    env.reset()
    state = env.state()
    a = env.world.agents
    expected = np.zeros(state.shape[:2], np.uint8)
    expected[a.r[a.alive], a.c[a.alive]] = a.population[a.alive] + 1
    assert (state[..., 1] == expected).all() and np.count_nonzero(expected) == len(env.agents) == 64
    assert set(np.unique(state[..., 1]).tolist()) == {0, 1, 2, 3}


def test_the_env_subpackage_can_be_imported_with_import_as():
    namespace: dict = {}
    exec("import neural_mmo.envs.vector as vector_module", namespace)
    assert namespace["vector_module"].VecEnv is neural_mmo.VecEnv
    exec("import neural_mmo.envs.parallel as parallel_module", namespace)
    assert namespace["parallel_module"].env is neural_mmo.env
    # neural_mmo.env is only the AEC factory, not a subpackage
    assert callable(neural_mmo.env) and not hasattr(neural_mmo.env, "__path__")
    aec = neural_mmo.env("small", seed=0)
    assert isinstance(aec, AECEnv) and not isinstance(aec, ParallelEnv)
    aec.reset(seed=0)
    assert aec.agents and aec.agent_selection in aec.agents
    with pytest.raises(ModuleNotFoundError):
        exec("import neural_mmo.env.vector", {})


# ---------------------------------------------------------------------- continuous wipe-out


STARVE_ON_TICK_1 = {"max_food": 100, "food_decay": 100, "starvation_damage": 100}


def test_continuous_wipe_out_empties_agents_and_ends_the_episode():
    env = neural_mmo.parallel_env(
        "small", seed=0, spawn__n_agents=1, attempts_per_tick=1, min_alive=1, **STARVE_ON_TICK_1
    )
    assert env.config.spawn.mode == "continuous" and not env.config.episode.persistent
    env.reset()
    assert env.agents == ["player_0"]
    obs, rewards, terms, truncs, infos = env.step({"player_0": 0})
    # the only slot was freed this tick, so nobody can spawn: the world is empty after the spawns
    assert terms == {"player_0": True} and rewards == {"player_0": -1.0} and truncs == {"player_0": False}
    assert set(obs) == {"player_0"}
    assert env.agents == [] and env.vec.episode_done[0] and env.world.n_alive == 0
    tick = env.world.tick
    assert tick == 1 < env.config.episode.horizon
    for _ in range(3):
        assert env.step({}) == ({}, {}, {}, {}, {})
        assert env.step({"player_0": 0}) == ({}, {}, {}, {}, {})
    assert env.world.tick == tick
    env.reset()
    assert env.agents == ["player_0"] and env.world.tick == 0


def test_an_empty_continuous_world_without_min_alive_keeps_stepping():
    env = neural_mmo.parallel_env(
        "small",
        seed=0,
        spawn__n_agents=1,
        attempts_per_tick=1,
        min_alive=0,
        agent_names="unique",
        **STARVE_ON_TICK_1,
    )
    env.reset()
    for _ in range(50):  # the one spawn attempt per tick may pick an unspawnable edge tile
        if env.agents:
            break
        env.step({})
    assert env.agents
    first = env.agents[0]
    _, _, terms, _, _ = env.step({first: 0})
    assert terms[first] and not env.vec.episode_done[0]
    respawned = False
    for _ in range(200):
        tick = env.world.tick
        obs, *_ = env.step({})
        assert env.world.tick == tick + 1  # stepped although nobody was alive
        if env.agents:
            respawned = True
            assert env.agents[0] != first and env.agents[0] in obs
            break
    assert respawned


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_canonical_aec_loop_runs_to_the_horizon_with_continuous_spawning(seed):
    """Agents must not be born on the last tick: PettingZoo's AEC wrapper never saw them act."""
    aec = neural_mmo.env("small", horizon=60, seed=seed)
    policy = RandomPolicy(aec.unwrapped.layout, seed)
    aec.reset(seed=seed)
    turns = 0
    for agent in aec.agent_iter(max_iter=100_000):
        obs, _, terminated, truncated, _ = aec.last()
        aec.step(None if terminated or truncated else act_dict(policy, {agent: obs})[agent])
        turns += 1
    assert aec.agents == [] and turns > 60
    assert aec.unwrapped.world.tick == 60


def test_persistent_names_are_cached_per_slot_not_per_agent():
    env = neural_mmo.parallel_env(
        "small", persistent=True, seed=1, food_decay=25, water_decay=25, agent_names="unique"
    )
    policy = RandomPolicy(env.layout, 1)
    obs, _ = env.reset()
    seen = set()
    for _ in range(300):
        obs, *_ = env.step(act_dict(policy, {a: obs[a] for a in env.agents}))
        seen |= set(obs)
    assert len(seen) > env.vec.num_slots  # many more agents than slots came and went
    assert len(env._slot_names) == env.vec.num_slots
    assert set(env.agents) <= set(env._slot_names)


def test_id_pool_is_bounded_by_the_slots_per_tick():
    env = neural_mmo.parallel_env("small", attempts_per_tick=65_536, horizon=100, agent_names="unique")
    assert len(env.possible_agents) == 64 + 100 * 64
