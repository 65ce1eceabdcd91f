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
HEADS = ("move", "attack")


def _int_like(value: Any) -> int | None:
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iu":
        value = value.item()
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    return None


def _check(values: list[int | None], mask: np.ndarray, sizes: list[int]) -> tuple[list[int], int]:
    """Each head's value as the world sees it (0 when rejected) and the number rejected (a
    non-integer always counts; a rejected 0 never does)."""
    seen, bad = [], 0
    offset = 0
    for value, size in zip(values, sizes):
        if value is None:
            seen.append(0)
            bad += 1
        elif 0 <= value < size and mask[offset + value] != 0:
            seen.append(value)
        else:
            seen.append(0)
            bad += int(value != 0)
        offset += size
    return seen, bad


def expected_pettingzoo(action: Any, mask: np.ndarray, sizes: list[int]) -> tuple[list[int], int]:
    """([move, attack] the world should see, invalid parts to count) for one agent's action."""
    if action is None:
        return [0, 0], 0
    if isinstance(action, dict):
        unknown = sum(1 for k in action if k not in HEADS)
        values: list[int | None] = [_int_like(action[h]) if h in action else 0 for h in HEADS]
        seen, bad = _check(values, mask, sizes)
        return seen, bad + unknown
    value = _int_like(action)
    if value is not None:
        return _check([value, 0], mask, sizes)
    if isinstance(action, (list, tuple, np.ndarray)) and np.ndim(action) == 1 and len(action) == len(HEADS):
        return _check([_int_like(v) for v in action], mask, sizes)
    return _check([None, 0], mask, sizes)


def junk_action(rng: np.random.Generator, good: dict[str, int], attack_size: int) -> Any:
    move, attack = good["move"], good["attack"]
    choices = [
        lambda: move,
        lambda: {"move": move},
        lambda: {"attack": attack},
        lambda: {"move": move, "attack": attack},
        lambda: [move, attack],
        lambda: (move, attack),
        lambda: np.array([move, attack]),
        lambda: np.array([move, attack], np.uint8),
        lambda: None,
        lambda: {},
        lambda: int(rng.integers(-10, 15)),
        lambda: {"move": int(rng.integers(-10, 15))},
        lambda: {"attack": int(rng.integers(-10, attack_size + 10))},
        lambda: {"move": move, "attack": int(rng.integers(0, attack_size))},  # mostly masked
        lambda: [int(rng.integers(-3, 8)), int(rng.integers(-3, attack_size + 3))],
        lambda: (move, 2**31),
        lambda: (move, -(10**30)),
        lambda: [move, 1.0],
        lambda: [move, None],
        lambda: np.array([move, attack], np.float32),
        lambda: [move, attack, 0],
        lambda: -1,
        lambda: 2**31,
        lambda: 2**62,
        lambda: 10**30,
        lambda: -(10**30),
        lambda: np.int8(rng.integers(-5, 8)),
        lambda: np.uint64(2**64 - 1),
        lambda: np.array(move),
        lambda: np.array([move]),
        lambda: [move],
        lambda: (move,),
        lambda: np.zeros((2, 2), np.int64),
        lambda: float(move),
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
        lambda: {"attack": 1.0},
        lambda: {"attack": True},
        lambda: {"bogus": 1},
        lambda: {"move": move, "attack": 3, "x": None},
        lambda: {1: 2},
        lambda: [[1]],
        lambda: np.array([2.0]),
    ]
    return choices[int(rng.integers(len(choices)))]()


def attacks_by_slot(state: Any) -> dict[int, list[int]]:
    """``{attacking agent slot: [entities it attacked]}`` of this tick (NPC attacks left out)."""
    out: dict[int, list[int]] = {}
    n = state.config.spawn.n_agents
    for e in state.events.rows():
        if e["kind"] == "ATTACK" and e["slot"] < n:
            out.setdefault(e["slot"], []).append(e["other"])
    return out


def test_pettingzoo_fuzz():
    env = neural_mmo.parallel_env("small", seed=13, horizon=1000, attempts_per_tick=2, agent_names="unique")
    assert env.config.npc.n_npcs > 0  # combat with NPCs is part of the fuzz
    obs, _ = env.reset()
    policy = RandomPolicy(env.layout, seed=13)
    rng = np.random.default_rng(13)
    space = env.observation_space("player_0")
    sizes = env.layout.action_sizes.tolist()
    n_rows = env.layout.n_entities
    dead: set[str] = set()
    resets = counted = ignored_expected = attacks_sent = attacks_landed = 0
    for tick in range(TICKS):
        if not env.agents:
            obs, _ = env.reset()
            dead.clear()
            resets += 1
            ignored_expected = 0
            assert env.ignored_actions == 0
        good = act_dict(policy, obs)
        actions: dict[Any, Any] = {}
        expected: dict[str, tuple[list[int], int]] = {}
        for name in env.agents:
            action = good[name] if rng.random() < 0.5 else junk_action(rng, good[name], sizes[1])
            if rng.random() < 0.05:
                continue  # no action at all: a no-op
            actions[name] = action
            expected[name] = expected_pettingzoo(action, obs[name]["action_mask"], sizes)
        extras = ["player_999999999", "nobody", "player_-1", "player_01"]
        extras += list(rng.choice(sorted(dead), size=min(3, len(dead)), replace=False)) if dead else []
        for name in extras:
            if rng.random() < 0.3:
                actions[name] = junk_action(rng, {"move": 1, "attack": 1}, sizes[1])
                ignored_expected += 1
        table = env.world.agents
        slots = {f"player_{table.agent_id[s]}": int(s) for s in np.flatnonzero(table.alive)}
        positions = {name: (int(table.r[s]), int(table.c[s])) for name, s in slots.items()}
        shown = env.vec._entity_slot.copy()  # the entity of each row, as the observations showed
        obs, rewards, terms, truncs, infos = env.step(actions)
        state = env.world
        check_invariants(state)
        assert env.ignored_actions == ignored_expected
        attacks = attacks_by_slot(state)
        for name, ((move, attack), bad) in expected.items():
            assert infos[name].get("invalid_actions", 0) == bad, (tick, name, actions[name])
            counted += bad
            slot = slots[name]
            if move == 0 and not terms[name]:
                assert (int(state.agents.r[slot]), int(state.agents.c[slot])) == positions[name]
            if attack == 0:
                assert slot not in attacks, (tick, name, actions[name])
            else:  # it attacks the entity its row showed (unless that one fell earlier this tick)
                attacks_sent += 1
                assert attacks.get(slot, [shown[slot, (attack - 1) % n_rows]]) == [
                    shown[slot, (attack - 1) % n_rows]
                ], (tick, name, actions[name])
                attacks_landed += slot in attacks
        for name in set(obs) - set(expected):
            assert infos[name].get("invalid_actions", 0) == 0
        if tick % 10 == 0:
            for name in obs:
                assert space.contains(obs[name]), (tick, name)
        dead |= {name for name, t in terms.items() if t}
        assert not dead & set(env.agents)
    assert counted > 1000 and resets >= 2
    assert attacks_sent > 300 and attacks_landed > 0.9 * attacks_sent


def _as_int64(v: Any) -> int:
    """One raw batch value as VecEnv reads it: non-integral or huge floats are invalid (-1),
    unsigned values past int64 wrap around (and so stay invalid)."""
    if isinstance(v, float):
        if not np.isfinite(v) or v != np.floor(v) or abs(v) >= 2**31:
            return -1
        return int(v)
    v = int(v)
    return v - 2**64 if v >= 2**63 else v


def expected_vec(
    raw: np.ndarray, mask: np.ndarray, alive: np.ndarray, sizes: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """(invalid count per slot, [move, attack] each slot's agent should carry out)."""
    rows = raw.reshape(-1, len(sizes)).tolist()
    invalid = np.zeros(len(rows), np.int32)
    seen = np.zeros((len(rows), len(sizes)), np.int64)
    for i, row in enumerate(rows):
        values, bad = _check([_as_int64(v) for v in row], mask[i], sizes)
        seen[i] = values
        invalid[i] = bad if alive[i] else 0
    return invalid, seen


def random_batch(rng: np.random.Generator, n: int, n_worlds: int, good: np.ndarray, attack_size: int) -> Any:
    kind = int(rng.integers(10))
    if kind == 0:
        return good
    if kind == 1:
        return np.stack([rng.integers(-3, 9, size=n), rng.integers(-3, attack_size + 3, size=n)], 1).astype(
            np.int16
        )
    if kind == 2:
        return rng.choice(
            np.array([0, 1, 4, 5, 2**40, -(2**62), np.iinfo(np.int64).max, attack_size - 1, attack_size]),
            size=(n, 2),
        )
    if kind == 3:
        return rng.choice(np.array([0, 3, 2**63, 2**64 - 1, 2**32 + 2], np.uint64), size=(n, 2))
    if kind == 4:
        return rng.choice(np.array([0.0, 1.0, 2.5, -1.0, np.nan, np.inf, -np.inf, 3e9, 4.0]), size=(n, 2))
    if kind == 5:
        return (rng.random((n, 2)) < 0.5).astype(np.int16)
    if kind == 6:
        return good.reshape(n_worlds, n // n_worlds, 2).astype(np.uint8)
    if kind == 7:
        return np.where(rng.random((n, 2)) < 0.5, good, rng.integers(-100, attack_size + 100, size=(n, 2)))
    if kind == 8:  # good moves, any attack value: mostly masked
        return np.stack([good[:, 0], rng.integers(0, attack_size, size=n)], 1)
    return good.astype(np.float32)


BAD_TOP_LEVEL = [
    ("x", TypeError),
    ({"a": 1}, TypeError),
    (None, TypeError),
    ([["a", "b"]], TypeError),
    (np.zeros((3, 2)), ValueError),
    ([1, 2], ValueError),
    (np.zeros((1, 1, 1, 1)), ValueError),
    (np.zeros(128, np.int64), ValueError),  # a flat batch: one value per slot is no longer a batch
    (np.zeros((128, 1), np.int64), ValueError),
    (np.zeros((128, 3), np.int64), ValueError),
    (np.zeros((1, 128, 2)), ValueError),  # two worlds of 64 slots: [2, 64, 2] or [128, 2]
    (np.zeros((4, 32, 2)), ValueError),
    (np.ones(128, bool), TypeError),
    (np.zeros((128, 2), bool), TypeError),
]


def test_vecenv_fuzz():
    vec = VecEnv(2, "small", seed=17, horizon=700)
    assert vec.num_slots == 128 and vec.n_heads == 2  # BAD_TOP_LEVEL is written for this
    assert vec.config.npc.n_npcs > 0  # combat with NPCs is part of the fuzz
    obs, _ = vec.reset()
    policy = RandomPolicy(vec.layout, seed=17)
    rng = np.random.default_rng(17)
    layout = vec.layout
    sizes = layout.action_sizes.tolist()
    n_rows = layout.n_entities
    lows = {f.key: f.low for f in layout.fields}
    highs = {f.key: f.high for f in layout.fields}
    counted = resets = errors = attacks_sent = attacks_landed = 0
    S = vec.slots_per_world
    for tick in range(TICKS):
        if rng.random() < 0.01:
            bad, error = BAD_TOP_LEVEL[int(rng.integers(len(BAD_TOP_LEVEL)))]
            hashes = [w.state_hash() for w in vec.worlds]
            with pytest.raises(error):
                vec.step(bad)
            assert [w.state_hash() for w in vec.worlds] == hashes
            errors += 1
        good = policy.act(obs)
        raw = random_batch(rng, vec.num_slots, vec.num_worlds, good, sizes[1])
        resetting = vec.episode_done.copy()
        expected, carried = expected_vec(np.asarray(raw), obs["action_mask"], vec.alive, sizes)
        alive_before = vec.alive.copy()
        shown = vec._entity_slot.copy()
        vec.step(raw)
        for w in range(2):
            block = slice(w * S, (w + 1) * S)
            if resetting[w]:
                expected[block] = 0
                resets += 1
                assert vec.worlds[w].tick == 0
                continue
            check_invariants(vec.worlds[w])
            attacks = attacks_by_slot(vec.worlds[w])
            for i in range(S):
                k = w * S + i
                attack = int(carried[k, 1])
                if not alive_before[k] or attack == 0:
                    assert i not in attacks, (tick, k)
                    continue
                target = shown[k, (attack - 1) % n_rows]
                assert attacks.get(i, [target]) == [target], (tick, k)
                attacks_sent += 1
                attacks_landed += i in attacks
        assert (vec.invalid_actions == expected).all(), tick
        counted += int(expected.sum())
        rows = vec.alive | vec.terminations
        for key, array in obs.items():
            live = array[rows].astype(np.int64)
            assert (live >= lows[key]).all() and (live <= highs[key]).all(), (tick, key)
        assert (vec.rewards[~rows] == 0).all()
    assert counted > 1000 and resets >= 4 and errors > 5
    assert attacks_sent > 300 and attacks_landed > 0.9 * attacks_sent
