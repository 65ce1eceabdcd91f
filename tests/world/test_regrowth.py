"""The regrowth timer wheel against an exact reference and against per-tick Bernoulli trials."""

from __future__ import annotations

import numpy as np
import pytest
from _support import PyStream, binomial_tolerance, rules, stream, world_of
from hypothesis import given
from hypothesis import strategies as st

from neural_mmo.world.materials import Material
from neural_mmo.world.rng import Stream
from neural_mmo.world.state import REGROW_RING, RegrowthQueue
from neural_mmo.world.systems.regrowth import regrow_resources, schedule_initial_regrowth, schedule_regrowth


def empty_queue(n_tiles: int) -> RegrowthQueue:
    return RegrowthQueue(
        np.full(REGROW_RING, -1, np.int32), np.full(n_tiles, -1, np.int32), np.full(n_tiles, -1, np.int64)
    )


def test_schedule_draws_a_geometric_wait():
    queue = empty_queue(16)
    rng = stream(4)
    ref = PyStream(rng)
    for tile in range(16):
        schedule_regrowth(queue, tile, 7, 0.2, rng)
    assert queue.due.tolist() == [7 + ref.geometric(0.2) for _ in range(16)]


def test_schedule_special_probabilities_and_already_waiting_tiles():
    queue = empty_queue(4)
    rng = stream(0)
    state = rng.copy()
    schedule_regrowth(queue, 0, 5, 0.0, rng)
    schedule_regrowth(queue, 1, 5, 1.0, rng)
    assert queue.due.tolist() == [-1, 6, -1, -1]
    assert (rng == state).all()  # neither p=0 nor p=1 draws
    schedule_regrowth(queue, 2, 5, 0.5, rng)
    due = int(queue.due[2])
    schedule_regrowth(queue, 2, 9, 0.5, rng)
    assert queue.due[2] == due


@given(
    seed=st.integers(0, 2**32 - 1), prob=st.sampled_from([0.002, 0.01, 0.3, 1.0]), ticks=st.integers(1, 700)
)
def test_wheel_regrows_each_tile_exactly_at_its_due_tick(seed, prob, ticks):
    """Tiles depleted at random ticks (while others wait) regrow exactly when due, even past the wheel."""
    side = 12
    rng = np.random.default_rng(seed)
    material = np.full((side, side), Material.FOREST, np.uint8)
    queue = empty_queue(side * side)
    world_rng = stream(seed + 1)
    due: dict[int, int] = {}
    for tick in range(1, ticks + 1):
        for tile in rng.choice(side * side, size=3, replace=False).tolist():
            r, c = divmod(tile, side)
            if material[r, c] == Material.FOREST:
                material[r, c] = Material.SCRUB
                schedule_regrowth(queue, tile, tick, prob, world_rng)
                due[tile] = int(queue.due[tile])
                assert due[tile] > tick
        expected = sorted(t for t, d in due.items() if d == tick)
        before = material.copy()
        assert regrow_resources(world_of(material, tick, regrowth=queue)) == len(expected)
        changed = sorted(np.flatnonzero((before != material).ravel()).tolist())
        assert changed == expected
        assert all(material.flat[t] == Material.FOREST for t in expected)
        for t in expected:
            del due[t]
            assert queue.due[t] == -1
    waiting = {int(t): int(queue.due[t]) for t in np.flatnonzero(queue.due >= 0)}
    assert waiting == due
    assert all(material.flat[t] == Material.SCRUB for t in due)


@pytest.mark.parametrize(
    "prob,checkpoints", [(0.1, [1, 2, 3, 5, 10, 20]), (0.004, [1, 100, 255, 256, 300, 600])]
)
def test_wheel_matches_bernoulli_trials_in_distribution(prob, checkpoints):
    """Fraction regrown after k ticks: timer wheel vs one Bernoulli(p) draw per tile per tick vs 1-(1-p)^k."""
    n = 20_000
    side = int(np.ceil(np.sqrt(n)))
    material = np.full((side, side), Material.SCRUB, np.uint8)
    queue = empty_queue(side * side)
    schedule_initial_regrowth(
        world_of(material, 0, {Stream.REGROWTH: stream(11)}, regrowth=queue),
        rules(resources__food_regrow_prob=prob),
    )
    bernoulli_rng = np.random.default_rng(12)
    pending = np.ones(side * side, bool)
    for tick in range(1, max(checkpoints) + 1):
        regrow_resources(world_of(material, tick, regrowth=queue))
        pending &= ~(bernoulli_rng.random(side * side) < prob)
        if tick in checkpoints:
            total = side * side
            expected = total * (1 - (1 - prob) ** tick)
            p_k = 1 - (1 - prob) ** tick
            wheel = int(np.count_nonzero(material == Material.FOREST))
            bern = int(total - pending.sum())
            assert abs(wheel - expected) <= binomial_tolerance(total, p_k), (tick, wheel, expected)
            assert abs(bern - expected) <= binomial_tolerance(total, p_k), (tick, bern, expected)


def test_initial_schedule_covers_exactly_the_tiles_that_can_regrow():
    rng = np.random.default_rng(1)
    material = rng.integers(0, 6, size=(9, 9)).astype(np.uint8)
    queue = empty_queue(81)
    schedule_initial_regrowth(
        world_of(material, 0, {Stream.REGROWTH: stream(2)}, regrowth=queue),
        rules(resources__food_regrow_prob=0.5),
    )
    assert set(np.flatnonzero(queue.due >= 0).tolist()) == set(
        np.flatnonzero(material.ravel() == Material.SCRUB)
    )
    queue = empty_queue(81)
    schedule_initial_regrowth(
        world_of(material, 0, {Stream.REGROWTH: stream(2)}, regrowth=queue),
        rules(resources__food_regrow_prob=0.0),
    )
    assert (queue.due == -1).all()


@pytest.mark.parametrize(
    "prob",
    [
        1e-9,
        1e-12,
        1e-20,
        1e-300,
    ],
)
def test_tiny_regrowth_probabilities_almost_never_regrow(prob):
    side = 40
    material = np.full((side, side), Material.SCRUB, np.uint8)
    queue = empty_queue(side * side)
    schedule_initial_regrowth(
        world_of(material, 0, {Stream.REGROWTH: stream(0)}, regrowth=queue),
        rules(resources__food_regrow_prob=prob),
    )
    assert queue.due.dtype == np.int64
    regrown = sum(regrow_resources(world_of(material, tick, regrowth=queue)) for tick in range(1, 300))
    assert regrown == 0  # expected count is side**2 * 300 * prob < 1e-3
    assert (queue.due > 0).all()
