"""Movement rules on drawn maps: steps, blocking, contention, the border."""

from __future__ import annotations

import numpy as np
import pytest
from _support import make_scenario

from neural_mmo.world.commands import Command
from neural_mmo.world.events import DeathCause, EventKind
from neural_mmo.world.step import commands_for
from neural_mmo.world.step import step as step_world
from neural_mmo.world.vocabulary import Direction

OPEN = """
........
........
........
...0....
........
........
........
........
"""


def raw_step(sc, moves):
    """Step the world directly, bypassing the action mask, to test the movement rule itself."""
    directions = np.zeros(sc.vec.num_slots, np.int32)
    for slot, d in moves.items():
        directions[slot] = d
    commands = commands_for(sc.state, directions)
    assert (commands[:, Command.STYLE] == 0).all() and (commands[:, Command.TARGET] == -1).all()
    step_world(sc.state, commands)


@pytest.mark.parametrize(
    "direction,expected",
    [
        (Direction.NORTH, (2, 3)),
        (Direction.SOUTH, (4, 3)),
        (Direction.EAST, (3, 4)),
        (Direction.WEST, (3, 2)),
        (Direction.STAY, (3, 3)),
    ],
)
def test_one_step_in_each_direction(direction, expected):
    sc = make_scenario(OPEN)
    sc.step({0: direction})
    assert sc.pos(0) == expected
    moves = sc.events(kind=EventKind.MOVE)
    if direction == Direction.STAY:
        assert moves == []
    else:
        assert [(e["value"], e["r"] - sc.border, e["c"] - sc.border) for e in moves] == [
            (direction, *expected)
        ]
    assert sc.vec.invalid_actions[0] == 0


@pytest.mark.parametrize("blocker", ["~", "#"])
@pytest.mark.parametrize("direction", [Direction.NORTH, Direction.SOUTH, Direction.EAST, Direction.WEST])
def test_water_and_stone_block(blocker, direction):
    grid = [list(row) for row in OPEN.split()]
    dr, dc = {
        Direction.NORTH: (-1, 0),
        Direction.SOUTH: (1, 0),
        Direction.EAST: (0, 1),
        Direction.WEST: (0, -1),
    }[direction]
    grid[3 + dr][3 + dc] = blocker
    drawing = "\n".join("".join(r) for r in grid)
    sc = make_scenario(drawing)
    sc.step({0: direction})
    assert sc.pos(0) == (3, 3)
    assert sc.events(kind=EventKind.MOVE) == []
    assert sc.vec.invalid_actions[0] == 1  # masked, counted
    raw_step(sc, {0: direction})  # the rule itself, without the mask
    assert sc.pos(0) == (3, 3)
    assert sc.state.occupant[3 + sc.border, 3 + sc.border] == 0


def test_an_occupied_tile_blocks():
    sc = make_scenario("""
        ........
        ........
        ........
        ...01...
        ........
        ........
        ........
        ........
    """)
    sc.step({0: Direction.EAST})
    assert (sc.pos(0), sc.pos(1)) == ((3, 3), (3, 4))
    assert sc.vec.invalid_actions[0] == 1
    raw_step(sc, {0: Direction.EAST})
    assert (sc.pos(0), sc.pos(1)) == ((3, 3), (3, 4))


def test_agents_never_swap_places():
    for seed in range(1, 11):
        sc = make_scenario(
            """
            ........
            ........
            ........
            ...01...
            ........
            ........
            ........
            ........
        """,
            seed=seed,
        )
        raw_step(sc, {0: Direction.EAST, 1: Direction.WEST})
        assert (sc.pos(0), sc.pos(1)) == ((3, 3), (3, 4))


def test_following_succeeds_only_when_the_leader_moves_first():
    outcomes = set()
    for seed in range(1, 31):
        sc = make_scenario(
            """
            ........
            ........
            ........
            ...01...
            ........
            ........
            ........
            ........
        """,
            seed=seed,
        )
        raw_step(sc, {0: Direction.EAST, 1: Direction.EAST})
        assert sc.pos(1) == (3, 5)
        outcomes.add(sc.pos(0))
    assert outcomes == {(3, 3), (3, 4)}


def test_two_agents_into_one_tile_exactly_one_wins():
    winners = []
    for seed in range(1, 41):
        sc = make_scenario(
            """
            ........
            ........
            ........
            ..0.1...
            ........
            ........
            ........
            ........
        """,
            seed=seed,
        )
        sc.step({0: Direction.EAST, 1: Direction.WEST})
        positions = {sc.pos(0), sc.pos(1)}
        assert (3, 3) in positions
        assert positions in ({(3, 3), (3, 4)}, {(3, 2), (3, 3)})
        winner = 0 if sc.pos(0) == (3, 3) else 1
        assert sc.pos(1 - winner) == [(3, 2), (3, 4)][1 - winner]  # the loser stays
        moves = sc.events(kind=EventKind.MOVE)
        assert [e["slot"] for e in moves] == [winner]
        assert sc.state.occupant[3 + sc.border, 3 + sc.border] == winner
        assert sc.vec.invalid_actions.tolist() == [0, 0]  # both moves were allowed when chosen
        winners.append(winner)
    assert 5 <= sum(winners) <= 35  # each wins sometimes: the order is random


def test_immortal_agents_reach_the_first_border_ring_but_no_further():
    sc = make_scenario(OPEN.replace("...0....", "0......."), immortal=True)
    sc.step({0: Direction.WEST})
    assert sc.pos(0) == (3, -1)
    assert sc.state.agents.alive[0] and sc.state.agents.health[0] >= 1
    assert sc.obs(0)["action_mask"][Direction.WEST] == 0  # the mask knows the ring is the limit
    assert sc.obs(0)["action_mask"][Direction.NORTH] == 1
    sc.step({0: Direction.WEST})
    assert sc.pos(0) == (3, -1)
    assert sc.vec.invalid_actions[0] == 1  # masked, so rejected and counted
    sc.step({0: Direction.NORTH})
    assert sc.pos(0) == (2, -1)


def test_a_mortal_agent_walking_off_the_map_dies_in_the_border():
    sc = make_scenario(OPEN.replace("...0....", "0......."))
    sc.step({0: Direction.WEST})
    deaths = sc.events(kind=EventKind.DEATH)
    assert [(e["slot"], e["value"]) for e in deaths] == [(0, DeathCause.LAVA)]
    assert not sc.state.agents.alive[0]
