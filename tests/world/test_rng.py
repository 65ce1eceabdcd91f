"""Randomness: seeds are checked; one xoshiro256** stream per system, keyed by the system's name."""

from __future__ import annotations

import math
from enum import IntEnum

import numpy as np
import pytest
from _support import PyStream, stream
from hypothesis import given
from hypothesis import strategies as st

import neural_mmo.world.rng as rng_module
from neural_mmo.world.rng import (
    Stream,
    below,
    check_seed,
    episode_seed,
    geometric,
    next_u64,
    system_streams,
    terrain_generator,
    uniform,
)


@pytest.mark.parametrize("seed", [0, 1, 2**40, np.int64(7), np.uint32(3)])
def test_valid_seeds(seed):
    assert check_seed(seed) == int(seed)
    assert type(check_seed(seed)) is int


@pytest.mark.parametrize(
    "seed,error",
    [
        (-1, ValueError),
        ("abc", TypeError),
        (1.5, TypeError),
        (True, TypeError),
        (None, TypeError),
        ([1], TypeError),
        (np.float64(2.0), TypeError),
        (np.int64(-3), ValueError),
    ],
)
def test_invalid_seeds_raise_clear_errors(seed, error):
    with pytest.raises(error, match="seed must be a non-negative int"):
        check_seed(seed)


def test_episode_seeds_are_distinct_per_seed_world_and_episode():
    states = set()
    for seed in (0, 1):
        for world in (0, 1, 2):
            for episode in (0, 1, 2):
                states.add(tuple(episode_seed(seed, world, episode).generate_state(4).tolist()))
    assert len(states) == 18


def test_system_streams_are_reproducible_independent_and_non_zero():
    a = system_streams(episode_seed(5, 0, 0))
    b = system_streams(episode_seed(5, 0, 0))
    assert [(s.name, s.value) for s in Stream] == [
        ("SPAWN", 0),
        ("MOVEMENT", 1),
        ("REGROWTH", 2),
        ("COMBAT", 3),
        ("NPC", 4),
    ]
    assert a.dtype == np.uint64 and a.shape == (len(Stream), 4)
    for stream_row in Stream:
        assert a[stream_row].any()
    assert (a == b).all()
    assert not np.shares_memory(a, b)
    assert len({tuple(row) for row in a.tolist()}) == len(Stream)
    other = system_streams(episode_seed(5, 0, 1))
    assert all((other[s] != a[s]).any() for s in Stream)


def test_a_stream_does_not_depend_on_the_other_systems(monkeypatch):
    seq = episode_seed(3, 1, 2)
    movement = system_streams(seq)[Stream.MOVEMENT].copy()
    # Other sets of systems, movement on another row or not: its stream is keyed by its name only.
    for rows in ([("EXTRA_SYSTEM", 0), ("MOVEMENT", 1)], [("MOVEMENT", 0), ("EXTRA_SYSTEM", 1)]):
        patched = IntEnum("Stream", rows)  # type: ignore[misc]
        monkeypatch.setattr(rng_module, "Stream", patched)
        streams = rng_module.system_streams(seq)
        assert streams.shape == (2, 4)
        assert (streams[patched.MOVEMENT] == movement).all()
        assert (streams[patched.EXTRA_SYSTEM] != movement).any()


def test_terrain_generator_is_reproducible_and_separate():
    a = terrain_generator(episode_seed(1, 0, 0)).integers(0, 2**62, size=5)
    b = terrain_generator(episode_seed(1, 0, 0)).integers(0, 2**62, size=5)
    c = terrain_generator(episode_seed(1, 0, 1)).integers(0, 2**62, size=5)
    assert (a == b).all() and (a != c).any()


def test_xoshiro256starstar_reference_vector():
    """Outputs of xoshiro256** from state (1, 2, 3, 4), as published with the algorithm."""
    s = np.array([1, 2, 3, 4], np.uint64)
    outputs = [int(next_u64(s)) for _ in range(4)]
    assert outputs == [11520, 0, 1509978240, 1215971899390074240]
    ref = PyStream([1, 2, 3, 4])
    assert [ref.next_u64() for _ in range(4)] == outputs
    assert s.tolist() == ref.state()


@given(seed=st.integers(0, 2**63), n=st.integers(1, 10**9), p=st.floats(1e-6, 0.999999))
def test_kernels_match_the_python_reference(seed, n, p):
    s = stream(seed)
    ref = PyStream(s)
    for _ in range(5):
        assert uniform(s) == ref.uniform()
        assert below(s, n) == ref.below(n)
        assert geometric(s, p) == ref.geometric(p)
    assert s.tolist() == ref.state()


def test_uniform_and_below_ranges_and_balance():
    s = stream(0)
    u = np.array([uniform(s) for _ in range(20000)])
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01
    counts = np.bincount([below(s, 7) for _ in range(14000)], minlength=7)
    assert counts.shape == (7,)
    chi2 = ((counts - 2000) ** 2 / 2000).sum()
    assert chi2 < 30.0  # 6 degrees of freedom
    assert all(below(s, 1) == 0 for _ in range(100))


@pytest.mark.parametrize("p", [0.5, 0.1, 0.01])
def test_geometric_has_the_law_of_the_first_success(p):
    s = stream(1)
    n = 20000
    draws = np.array([geometric(s, p) for _ in range(n)])
    assert draws.min() >= 1
    for k in (1, 2, 5, 20):
        expected = 1 - (1 - p) ** k
        got = np.mean(draws <= k)
        assert abs(got - expected) <= 5 * math.sqrt(expected * (1 - expected) / n) + 1e-9, (k, got, expected)


@pytest.mark.parametrize(
    "p",
    [1e-9, 1e-15, 1e-20, 5e-324],
)
def test_geometric_is_at_least_one_for_tiny_probabilities(p):
    s = stream(2)
    draws = [geometric(s, p) for _ in range(50)]
    assert min(draws) >= 1
    assert max(draws) <= 1 + 4 * 10**18
