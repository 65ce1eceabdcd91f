"""Action checking: sanitize_actions against a reference, batch and per-agent parsing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neural_mmo.config import Config
from neural_mmo.envs.actions import INVALID, agent_action_row, as_action_array, sanitize_actions
from neural_mmo.observe.layout import ObsLayout

LAYOUT = ObsLayout(Config.preset("small"))


def reference_sanitize(raw, mask, offsets, sizes, alive):
    out = np.zeros(raw.shape, np.int32)
    invalid = np.zeros(raw.shape[0], np.int32)
    for i in range(raw.shape[0]):
        for h in range(raw.shape[1]):
            v = int(raw[i, h])
            ok = 0 <= v < sizes[h] and mask[i, offsets[h] + v] != 0
            out[i, h] = v if ok else 0
            if not ok and v != 0 and alive[i]:
                invalid[i] += 1
    return out, invalid


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 50),
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=4),
)
def test_sanitize_actions_matches_the_reference(seed, n, sizes):
    rng = np.random.default_rng(seed)
    sizes_a = np.array(sizes, np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes_a)[:-1]]).astype(np.int64)
    mask = (rng.random((n, int(sizes_a.sum()))) < 0.6).astype(np.int8)
    extremes = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, -1, 2**31, 2**40], np.int64)
    raw = rng.integers(-3, max(sizes) + 3, size=(n, len(sizes))).astype(np.int64)
    pick = rng.random(raw.shape) < 0.1
    raw[pick] = rng.choice(extremes, size=int(pick.sum()))
    alive = rng.random(n) < 0.8
    out = np.full((n, len(sizes)), 99, np.int32)
    invalid = np.full(n, 99, np.int32)
    sanitize_actions(raw, mask, offsets, sizes_a, alive, out, invalid)
    ref_out, ref_invalid = reference_sanitize(raw, mask, offsets, sizes_a, alive)
    assert (out == ref_out).all()
    assert (invalid == ref_invalid).all()


def test_zero_is_never_counted_even_when_masked():
    raw = np.zeros((2, 1), np.int64)
    mask = np.zeros((2, 5), np.int8)
    out = np.ones((2, 1), np.int32)
    invalid = np.ones(2, np.int32)
    sanitize_actions(raw, mask, np.array([0]), np.array([5]), np.array([True, True]), out, invalid)
    assert out.tolist() == [[0], [0]] and invalid.tolist() == [0, 0]


# ---------------------------------------------------------------------- batches (VecEnv)


def parse(actions, n=4, heads=1, worlds=2):
    out = np.full((n, heads), 77, np.int64)
    as_action_array(actions, worlds, n, heads, out)
    return out


def test_as_action_array_accepted_forms():
    assert parse([1, 2, 3, 4]).ravel().tolist() == [1, 2, 3, 4]
    assert parse(np.array([[1], [2], [3], [4]], np.int8)).ravel().tolist() == [1, 2, 3, 4]
    assert parse(np.arange(4, dtype=np.uint16).reshape(2, 2, 1)).ravel().tolist() == [0, 1, 2, 3]
    assert parse(np.arange(4).reshape(4, 1, 1), worlds=4).ravel().tolist() == [0, 1, 2, 3]
    assert parse(np.arange(4).reshape(1, 4, 1), worlds=1).ravel().tolist() == [0, 1, 2, 3]
    assert parse(np.arange(8).reshape(4, 2), heads=2).tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert parse(np.arange(8).reshape(2, 2, 2), heads=2).tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]


def test_as_action_array_floats():
    got = parse(np.array([2.0, 2.5, np.nan, np.inf, -np.inf, -1.0, 3e9, 1e300])[:4]).ravel().tolist()
    assert got == [2, INVALID, INVALID, INVALID]
    got = parse(np.array([-np.inf, -1.0, 3e9, 1e300])).ravel().tolist()
    assert got == [INVALID, -1, INVALID, INVALID]


def test_as_action_array_huge_unsigned_values_do_not_become_valid():
    out = parse(np.array([2**64 - 1, 2**63, 2**32 + 1, 3], np.uint64))
    assert out[3, 0] == 3
    assert all(v < 0 or v >= 5 for v in out[:3, 0].tolist())


@pytest.mark.parametrize(
    "bad",
    [
        {"a": 1},
        "x",
        b"x",
        None,
        ["a", "b", "c", "d"],
        np.array([1j] * 4),
        object(),
        np.array([True, False, True, False]),
        [True, False, True, False],
    ],
)
def test_as_action_array_wrong_types_raise_type_error(bad):
    with pytest.raises(TypeError, match="actions must be"):
        parse(bad)


@pytest.mark.parametrize(
    "shape", [(3,), (5,), (4, 2), (2, 4), (1, 4, 1, 1), (), (1, 4, 1), (4, 1, 1), (2, 1, 2), (2, 2)]
)
def test_as_action_array_wrong_shapes_raise_value_error(shape):
    """Only [4, 1], [4] (one head) and [2 worlds, 2 slots, 1] are batches of 4 slots in 2 worlds."""
    with pytest.raises(ValueError, match=r"shape \(4, 1\)"):
        parse(np.zeros(shape, np.int64))


@pytest.mark.parametrize("shape", [(4,), (8,), (2, 4), (4, 1, 2), (2, 2, 1), (1, 4, 2)])
def test_as_action_array_wrong_shapes_with_two_heads(shape):
    """With two heads a flat [n_slots] batch is ambiguous and rejected, like other wrong shapes."""
    with pytest.raises(ValueError, match=r"shape \(4, 2\)"):
        parse(np.zeros(shape, np.int64), heads=2)


# ---------------------------------------------------------------------- per agent (PettingZoo)


@pytest.mark.parametrize(
    "action,value,malformed",
    [
        (None, 0, 0),
        (3, 3, 0),
        (np.int8(2), 2, 0),
        (np.uint64(4), 4, 0),
        (np.array(1), 1, 0),
        (np.array([4]), 4, 0),
        ([2], 2, 0),
        ((3,), 3, 0),
        (-1, -1, 0),
        (99, 99, 0),
        (2**31 - 1, 2**31 - 1, 0),
        (2**31, INVALID, 0),
        (2**62, INVALID, 0),
        (-(2**31), INVALID, 0),
        ({"move": 2}, 2, 0),
        ({}, 0, 0),
        ({"move": 2, "bogus": 1}, 2, 1),
        ({"bogus": 1, "other": 2}, 0, 2),
        ({"move": 2.0}, INVALID, 0),
        ({"move": "north"}, INVALID, 0),
        ({"move": None}, INVALID, 0),
        ({"move": True}, INVALID, 0),
        (2.0, INVALID, 0),
        (float("nan"), INVALID, 0),
        (True, INVALID, 0),
        ("north", INVALID, 0),
        ([1, 2], INVALID, 0),
        ([[1]], INVALID, 0),
        (np.array([1.0]), INVALID, 0),
        (np.zeros((2, 2), np.int64), INVALID, 0),
        (object(), INVALID, 0),
    ],
)
def test_agent_action_row(action, value, malformed):
    out = np.full(1, 55, np.int64)
    assert agent_action_row(action, LAYOUT, out) == malformed
    assert out.tolist() == [value]


@pytest.mark.parametrize(
    "action", [10**30, -(2**70), 2**63, np.uint64(2**64 - 1), {"move": 10**30}, [10**30], np.array([2**40])]
)
def test_agent_action_row_huge_ints_are_invalid_not_errors(action):
    out = np.zeros(1, np.int64)
    assert agent_action_row(action, LAYOUT, out) == 0
    assert out.tolist() == [INVALID]


@pytest.mark.parametrize("action", [np.array(2.5), np.array(-1), np.array(2**40), np.array("x")], ids=str)
def test_agent_action_row_zero_dim_invalid_arrays_are_counted_no_ops(action):
    out = np.zeros(1, np.int64)
    assert agent_action_row(action, LAYOUT, out) == 0
    assert out.tolist() == [INVALID]
