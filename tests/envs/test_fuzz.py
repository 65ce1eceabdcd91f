"""Fuzz: thousands of ticks of random and malformed actions through both APIs.

No crash, invariants hold every tick, and every rejected action is counted exactly where the docs
say: ``infos[agent]["invalid_actions"]`` (PettingZoo) and ``invalid_actions`` (VecEnv).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import neural_mmo
from neural_mmo.agents import RandomPolicy, act_dict
from neural_mmo.envs.vector import VecEnv
from neural_mmo.testing import check_invariants

TICKS = 3000
N_MOVES = 5


def _int_like(value: Any) -> int | None:
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iu":
        value = value.item()
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    return None


def expected_pettingzoo(action: Any, mask: np.ndarray) -> tuple[int, int]:
    """(move the world should see, invalid parts to count) for one agent's action."""
    unknown = 0
    if action is None:
        return 0, 0
    if isinstance(action, dict):
        unknown = sum(1 for k in action if k != "move")
        if "move" not in action:
            return 0, unknown
        value = _int_like(action["move"])
        given = True
    else:
        value = _int_like(action)
        if value is None and isinstance(action, (list, tuple, np.ndarray)) and np.ndim(action) >= 1:
            if len(action) == 1:
                value = _int_like(action[0])
        given = True
    if value is None:
        return 0, unknown + int(given)
    ok = 0 <= value < N_MOVES and mask[value] != 0
    if ok:
        return value, unknown
    return 0, unknown + int(value != 0)


def junk_action(rng: np.random.Generator, good: int) -> Any:
    choices = [
        lambda: good,
        lambda: {"move": good},
        lambda: None,
        lambda: {},
        lambda: int(rng.integers(-10, 15)),
        lambda: {"move": int(rng.integers(-10, 15))},
        lambda: -1,
        lambda: 2**31,
        lambda: 2**62,
        lambda: 10**30,
        lambda: -(10**30),
        lambda: np.int8(rng.integers(-5, 8)),
        lambda: np.uint64(2**64 - 1),
        lambda: np.array(good),
        lambda: np.array([good]),
        lambda: [good],
        lambda: (good,),
        lambda: [good, good],
        lambda: np.zeros((2, 2), np.int64),
        lambda: float(good),
        lambda: float("nan"),
        lambda: float("inf"),
        lambda: 2.5,
        lambda: True,
        lambda: "north",
        lambda: b"\x01",
        lambda: object(),
        lambda: {"move": 1.0},
        lambda: {"move": None},
        lambda: {"move": "east"},
        lambda: {"move": [1]},
        lambda: {"bogus": 1},
        lambda: {"move": good, "attack": 3, "x": None},
        lambda: {1: 2},
        lambda: [[1]],
        lambda: np.array([2.0]),
    ]
    return choices[int(rng.integers(len(choices)))]()


def test_pettingzoo_fuzz():
    env = neural_mmo.parallel_env("small", seed=13, horizon=1000, attempts_per_tick=2)
    obs, _ = env.reset()
    policy = RandomPolicy(env.layout, seed=13)
    rng = np.random.default_rng(13)
    space = env.observation_space("player_0")
    dead: set[str] = set()
    resets = counted = ignored_expected = 0
    for tick in range(TICKS):
        if not env.agents:
            obs, _ = env.reset()
            dead.clear()
            resets += 1
            ignored_expected = 0
            assert env.ignored_actions == 0
        good = act_dict(policy, obs)
        actions: dict[Any, Any] = {}
        expected: dict[str, tuple[int, int]] = {}
        for name in env.agents:
            action = good[name]["move"] if rng.random() < 0.5 else junk_action(rng, good[name]["move"])
            if rng.random() < 0.05:
                continue  # no action at all: a no-op
            actions[name] = action
            expected[name] = expected_pettingzoo(action, obs[name]["action_mask"])
        extras = ["player_999999999", "nobody", "player_-1", "player_01"]
        extras += list(rng.choice(sorted(dead), size=min(3, len(dead)), replace=False)) if dead else []
        for name in extras:
            if rng.random() < 0.3:
                actions[name] = junk_action(rng, 1)
                ignored_expected += 1
        table = env.world.agents
        positions = {
            f"player_{table.agent_id[s]}": (int(table.r[s]), int(table.c[s]))
            for s in np.flatnonzero(table.alive)
        }
        obs, rewards, terms, truncs, infos = env.step(actions)
        state = env.world
        check_invariants(state)
        assert env.ignored_actions == ignored_expected
        for name, (move, bad) in expected.items():
            assert infos[name].get("invalid_actions", 0) == bad, (tick, name, actions[name])
            counted += bad
            if move == 0 and not terms[name]:
                slot = int(np.flatnonzero(env.vec.agent_id == int(name.split("_")[1]))[0])
                assert (int(state.agents.r[slot]), int(state.agents.c[slot])) == positions[name]
        for name in set(obs) - set(expected):
            assert infos[name].get("invalid_actions", 0) == 0
        if tick % 10 == 0:
            for name in obs:
                assert space.contains(obs[name]), (tick, name)
        dead |= {name for name, t in terms.items() if t}
        assert not dead & set(env.agents)
    assert counted > 1000 and resets >= 2


def expected_vec(raw: np.ndarray, mask: np.ndarray, alive: np.ndarray) -> np.ndarray:
    values = raw.reshape(-1)
    out = np.zeros(values.shape[0], np.int32)
    for i, v in enumerate(values.tolist()):
        if isinstance(v, float):
            if not np.isfinite(v) or v != np.floor(v) or abs(v) >= 2**31:
                v = -1
            v = int(v)
        v = int(v)
        if v >= 2**63:
            v = -1
        ok = 0 <= v < N_MOVES and mask[i, v] != 0
        out[i] = int(alive[i] and not ok and v != 0)
    return out


def random_batch(rng: np.random.Generator, n: int, n_worlds: int, good: np.ndarray) -> Any:
    kind = int(rng.integers(9))
    if kind == 0:
        return good
    if kind == 1:
        return rng.integers(-3, 9, size=(n, 1)).astype(np.int8)
    if kind == 2:
        return rng.choice(
            np.array([0, 1, 4, 5, 2**40, -(2**62), np.iinfo(np.int64).max], np.int64), size=(n, 1)
        )
    if kind == 3:
        return rng.choice(np.array([0, 3, 2**63, 2**64 - 1, 2**32 + 2], np.uint64), size=n)
    if kind == 4:
        return rng.choice(np.array([0.0, 1.0, 2.5, -1.0, np.nan, np.inf, -np.inf, 3e9, 4.0]), size=(n, 1))
    if kind == 5:
        return (rng.random(n) < 0.5).astype(np.int16)
    if kind == 6:
        return good.reshape(n_worlds, n // n_worlds, 1).astype(np.uint8)
    if kind == 7:
        return np.where(rng.random((n, 1)) < 0.5, good, rng.integers(-100, 100, size=(n, 1)))
    return good.astype(np.float32)


BAD_TOP_LEVEL = [
    ("x", TypeError),
    ({"a": 1}, TypeError),
    (None, TypeError),
    ([["a"]], TypeError),
    (np.zeros((3, 1)), ValueError),
    ([1, 2], ValueError),
    (np.zeros((1, 1, 1, 1)), ValueError),
    (np.zeros((1, 128, 1)), ValueError),  # two worlds of 64 slots: [2, 64, 1] or [128, 1]
    (np.zeros((4, 32, 1)), ValueError),
    (np.ones(128, bool), TypeError),
    (np.zeros((128, 1), bool), TypeError),
]


def test_vecenv_fuzz():
    vec = VecEnv(2, "small", seed=17, horizon=700)
    assert vec.num_slots == 128  # BAD_TOP_LEVEL is written for this
    obs, _ = vec.reset()
    policy = RandomPolicy(vec.layout, seed=17)
    rng = np.random.default_rng(17)
    layout = vec.layout
    lows = {f.key: f.low for f in layout.fields}
    highs = {f.key: f.high for f in layout.fields}
    counted = resets = errors = 0
    for tick in range(TICKS):
        if rng.random() < 0.01:
            bad, error = BAD_TOP_LEVEL[int(rng.integers(len(BAD_TOP_LEVEL)))]
            hashes = [w.state_hash() for w in vec.worlds]
            with pytest.raises(error):
                vec.step(bad)
            assert [w.state_hash() for w in vec.worlds] == hashes
            errors += 1
        good = policy.act(obs)
        raw = random_batch(rng, vec.num_slots, vec.num_worlds, good)
        resetting = vec.episode_done.copy()
        expected = expected_vec(np.asarray(raw), obs["action_mask"], vec.alive)
        vec.step(raw)
        S = vec.slots_per_world
        for w in range(2):
            block = slice(w * S, (w + 1) * S)
            if resetting[w]:
                expected[block] = 0
                resets += 1
                assert vec.worlds[w].tick == 0
            check_invariants(vec.worlds[w])
        assert (vec.invalid_actions == expected).all(), tick
        counted += int(expected.sum())
        rows = vec.alive | vec.terminations
        for key, array in obs.items():
            live = array[rows].astype(np.int64)
            assert (live >= lows[key]).all() and (live <= highs[key]).all(), (tick, key)
        assert (vec.rewards[~rows] == 0).all()
    assert counted > 1000 and resets >= 4 and errors > 5
