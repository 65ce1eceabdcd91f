"""Action checking: sanitize_actions against a reference, batch and per-agent parsing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neural_mmo.config import Config
from neural_mmo.envs.actions import INVALID, agent_action_row, as_action_array, sanitize_actions
from neural_mmo.observe.heads import (
    ActionHead,
    attack_value,
    attack_value_of,
    decode_attack,
    decode_attack_of,
)
from neural_mmo.observe.layout import ObsLayout
from neural_mmo.world.commands import NO_COMMAND, Command

LAYOUT = ObsLayout(Config.preset("small"))
N_HEADS = len(LAYOUT.heads)


def reference_sanitize(raw, mask, offsets, sizes, alive, entity_slot, price_unit=1):
    """Plain-Python decoding: a bad value (out of range or masked) is its head's no-op and is
    counted unless it was 0 or the slot is empty; a valid attack names the entity of its row; the
    economy heads decode as ``neural_mmo.observe.heads`` documents (no-op columns without them)."""
    n_rows = entity_slot.shape[1]
    decode = {attack_value(style, row, n_rows): (style, row) for style in (1, 2, 3) for row in range(n_rows)}
    commands = np.tile(np.array(NO_COMMAND, np.int32), (raw.shape[0], 1))
    invalid = np.zeros(raw.shape[0], np.int32)
    for i in range(raw.shape[0]):
        values = []
        for h in range(raw.shape[1]):
            v = int(raw[i, h])
            ok = 0 <= v < sizes[h] and mask[i, offsets[h] + v] != 0
            if not ok and v != 0 and alive[i]:
                invalid[i] += 1
            values.append(v if ok else 0)
        values += [0] * (len(ActionHead) - len(values))
        commands[i, Command.MOVE] = values[ActionHead.MOVE]
        if values[ActionHead.ATTACK] != 0:
            style, row = decode[values[ActionHead.ATTACK]]
            commands[i, Command.STYLE] = style
            commands[i, Command.TARGET] = entity_slot[i, row]
        use, destroy, give, give_to, gold, gold_to, sell, price, buy = values[2:]
        if use:
            commands[i, Command.USE] = use - 1
        if destroy:
            commands[i, Command.DESTROY] = destroy - 1
        if give:
            commands[i, Command.GIVE] = give - 1
        if give_to:
            commands[i, Command.GIVE_TO] = entity_slot[i, give_to - 1]
        if gold:
            commands[i, Command.GOLD] = 2 ** (gold - 1)
        if gold_to:
            commands[i, Command.GOLD_TO] = entity_slot[i, gold_to - 1]
        if sell:
            commands[i, Command.SELL] = sell - 1
        if price:
            commands[i, Command.PRICE] = price_unit * 2 ** (price - 1)
        if buy:
            commands[i, Command.BUY] = buy - 1
    return commands, invalid


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 50),
    move_size=st.integers(1, 6),
    n_rows=st.integers(1, 6),
    economy_heads=st.integers(0, 9),
    slots=st.integers(1, 5),
    buckets=st.integers(1, 4),
    price_unit=st.integers(1, 9),
)
def test_sanitize_actions_matches_the_reference(
    seed, n, move_size, n_rows, economy_heads, slots, buckets, price_unit
):
    rng = np.random.default_rng(seed)
    economy = [
        7 + slots,
        1 + slots,
        1 + slots,
        1 + n_rows,
        1 + buckets,
        1 + n_rows,
        1 + slots,
        1 + buckets,
        9,
    ]
    sizes = np.array([move_size, 1 + 3 * n_rows] + economy[:economy_heads], np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    mask = (rng.random((n, int(sizes.sum()))) < 0.6).astype(np.int8)
    extremes = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, -1, 2**31, 2**40], np.int64)
    raw = np.stack([rng.integers(-3, s + 3, size=n) for s in sizes.tolist()], axis=1).astype(np.int64)
    pick = rng.random(raw.shape) < 0.1
    raw[pick] = rng.choice(extremes, size=int(pick.sum()))
    alive = rng.random(n) < 0.8
    entity_slot = rng.integers(-1, 200, size=(n, n_rows)).astype(np.int32)
    # without economy heads its columns are left alone (kept at their no-ops); with them, reset
    commands = np.full((n, len(Command)), 99, np.int32)
    if not economy_heads:
        commands[:, Command.USE :] = NO_COMMAND[Command.USE :]
    invalid = np.full(n, 99, np.int32)
    sanitize_actions(raw, mask, offsets, sizes, alive, entity_slot, commands, invalid, False, price_unit)
    ref_commands, ref_invalid = reference_sanitize(raw, mask, offsets, sizes, alive, entity_slot, price_unit)
    assert (commands == ref_commands).all()
    assert (invalid == ref_invalid).all()


def test_sanitize_actions_decodes_each_style_and_row_into_the_entity_shown():
    n_rows = 4
    sizes = np.array([5, 1 + 3 * n_rows], np.int64)
    offsets = np.array([0, 5], np.int64)
    rows = [(style, row) for style in (1, 2, 3) for row in range(n_rows)]
    n = len(rows)
    raw = np.array([[1 + k % 4, attack_value(s, r, n_rows)] for k, (s, r) in enumerate(rows)], np.int64)
    mask = np.ones((n, int(sizes.sum())), np.int8)
    entity_slot = np.tile(np.array([10, 20, 30, 40], np.int32), (n, 1))
    commands = np.zeros((n, len(Command)), np.int32)
    invalid = np.full(n, 5, np.int32)
    sanitize_actions(raw, mask, offsets, sizes, np.ones(n, np.bool_), entity_slot, commands, invalid, False)
    assert commands[:, Command.MOVE].tolist() == [1 + k % 4 for k in range(n)]
    assert commands[:, Command.STYLE].tolist() == [s for s, _ in rows]
    assert commands[:, Command.TARGET].tolist() == [10 * (r + 1) for _, r in rows]
    assert invalid.tolist() == [0] * n


def test_a_style_only_attack_head_leaves_the_target_to_the_world():
    """``combat.auto_target``: attack values 1..3 are styles; the target column is -1."""
    sizes = np.array([5, 4], np.int64)
    offsets = np.array([0, 5], np.int64)
    raw = np.array([[0, 0], [1, 1], [2, 2], [3, 3], [0, 4]], np.int64)
    mask = np.ones((5, 9), np.int8)
    entity_slot = np.full((5, 1), 7, np.int32)
    commands = np.zeros((5, len(Command)), np.int32)
    invalid = np.zeros(5, np.int32)
    sanitize_actions(raw, mask, offsets, sizes, np.ones(5, np.bool_), entity_slot, commands, invalid, True)
    assert commands[:, Command.STYLE].tolist() == [0, 1, 2, 3, 0]
    assert commands[:, Command.TARGET].tolist() == [-1, -1, -1, -1, -1]
    assert invalid.tolist() == [0, 0, 0, 0, 1]  # 4 is outside the head


# ---------------------------------------------------------------------- the attack head's encoding


@pytest.mark.parametrize("n", [1, 2, 7, 32])
def test_attack_value_and_decode_attack_are_inverse(n):
    """Value ``1 + (style - 1) n + row``; 0 is the no-op."""
    pairs = [(s, r) for s in (1, 2, 3) for r in range(n)]
    values = [attack_value(s, r, n) for s, r in pairs]
    assert values == [1 + (s - 1) * n + r for s, r in pairs]
    assert values == list(range(1, 1 + 3 * n))  # every nonzero value names one pair
    assert [decode_attack(v, n) for v in values] == pairs
    assert decode_attack(0, n) == (0, -1)
    for (s, r), v in zip(pairs, values):  # the unchecked kernel helpers agree
        assert attack_value_of(s, r, n) == v and decode_attack_of(v, n) == (s, r)
        assert all(type(x) is int for x in (v, *decode_attack(v, n)))


@pytest.mark.parametrize("n", [1, 7])
def test_decode_attack_rejects_values_outside_the_head(n):
    top = 3 * n
    assert decode_attack(top, n) == (3, n - 1)  # the largest value is fine
    for bad in (-1, -top, top + 1, top + 100):
        with pytest.raises(ValueError, match=f"0..{top}, got {bad}"):
            decode_attack(bad, n)
    n_rows = LAYOUT.n_entities
    assert LAYOUT.action_sizes[ActionHead.ATTACK] == 1 + attack_value(3, n_rows - 1, n_rows)


@pytest.mark.parametrize("style,row", [(0, 0), (4, 0), (-1, 0), (1, -1), (1, 7), (3, 8)])
def test_attack_value_rejects_a_bad_style_or_row(style, row):
    with pytest.raises(ValueError, match=f"got {style}, {row}"):
        attack_value(style, row, 7)


def test_zero_is_never_counted_even_when_masked():
    raw = np.zeros((2, 2), np.int64)
    mask = np.zeros((2, 5 + 7), np.int8)
    commands = np.tile(np.array(NO_COMMAND, np.int32), (2, 1))
    commands[:, : Command.USE] = 1
    invalid = np.ones(2, np.int32)
    entity_slot = np.zeros((2, 2), np.int32)
    sanitize_actions(
        raw,
        mask,
        np.array([0, 5]),
        np.array([5, 7]),
        np.array([True, True]),
        entity_slot,
        commands,
        invalid,
        False,
    )
    assert commands.tolist() == [list(NO_COMMAND)] * 2 and invalid.tolist() == [0, 0]


def test_masked_and_out_of_range_values_are_no_ops_counted_per_head():
    sizes = np.array([5, 7], np.int64)
    offsets = np.array([0, 5], np.int64)
    mask = np.ones((4, 12), np.int8)
    mask[:, 5 + 3] = 0  # attack value 3 masked
    raw = np.array([[5, 3], [-1, 7], [2, 3], [1, 4]], np.int64)
    alive = np.array([True, True, True, False])
    entity_slot = np.array([[0, 8]] * 4, np.int32)
    commands = np.zeros((4, 3), np.int32)
    invalid = np.zeros(4, np.int32)
    sanitize_actions(raw, mask, offsets, sizes, alive, entity_slot, commands, invalid, False)
    assert commands.tolist() == [[0, 0, -1], [0, 0, -1], [2, 0, -1], [1, 2, 8]]
    assert invalid.tolist() == [2, 2, 1, 0]


# ---------------------------------------------------------------------- batches (VecEnv)


def parse(actions, n=4, heads=2, worlds=2):
    out = np.full((n, heads), 77, np.int64)
    as_action_array(actions, worlds, n, heads, out)
    return out


def test_as_action_array_accepted_forms():
    assert parse(np.array([[1], [2], [3], [4]], np.int8), heads=1).ravel().tolist() == [1, 2, 3, 4]
    assert parse(np.arange(4, dtype=np.uint16).reshape(2, 2, 1), heads=1).ravel().tolist() == [0, 1, 2, 3]
    assert parse(np.arange(4).reshape(4, 1, 1), heads=1, worlds=4).ravel().tolist() == [0, 1, 2, 3]
    assert parse(np.arange(4).reshape(1, 4, 1), heads=1, worlds=1).ravel().tolist() == [0, 1, 2, 3]
    assert parse([[0, 1], [2, 3], [4, 5], [6, 7]]).tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert parse(np.arange(8).reshape(4, 2)).tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert parse(np.arange(8, dtype=np.int8).reshape(2, 2, 2)).tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert parse(np.arange(8).reshape(1, 4, 2), worlds=1).tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
    for dtype in (np.int8, np.int16, np.int32, np.int64):  # signed integers are copied exactly
        lo, hi = np.iinfo(dtype).min, np.iinfo(dtype).max
        extremes = np.array([[lo, hi], [hi, lo], [-1, 0], [1, 2]], dtype)
        assert parse(extremes).tolist() == extremes.tolist()
        assert parse(extremes.T.copy().T).tolist() == extremes.tolist()  # not C-contiguous


def test_as_action_array_floats():
    got = parse(np.array([[2.0, 2.5], [np.nan, np.inf], [-np.inf, -1.0], [3e9, 1e300]])).tolist()
    assert got == [[2, INVALID], [INVALID, INVALID], [INVALID, -1], [INVALID, INVALID]]
    got = parse(np.array([[-np.inf], [-1.0], [3e9], [4.0]]), heads=1).ravel().tolist()
    assert got == [INVALID, -1, INVALID, 4]


def test_as_action_array_huge_unsigned_values_do_not_become_valid():
    out = parse(np.array([[2**64 - 1, 1], [2**63, 2], [2**32 + 1, 2**32 + 1], [3, 4]], np.uint64))
    assert out[3].tolist() == [3, 4]
    assert out[:2, 1].tolist() == [1, 2]
    assert all(v < 0 or v >= LAYOUT.action_sizes.max() for v in [*out[:3, 0].tolist(), out[2, 1]])


@pytest.mark.parametrize(
    "bad",
    [
        {"a": 1},
        "x",
        b"x",
        None,
        [["a", "b"]] * 4,
        np.array([[1j, 1j]] * 4),
        object(),
        np.array([[True, False]] * 4),
        [[True, False]] * 4,
    ],
)
def test_as_action_array_wrong_types_raise_type_error(bad):
    with pytest.raises(TypeError, match="actions must be"):
        parse(bad)


@pytest.mark.parametrize(
    "shape", [(4,), (3,), (5,), (4, 2), (2, 4), (1, 4, 1, 1), (), (1, 4, 1), (4, 1, 1), (2, 1, 2), (2, 2)]
)
def test_as_action_array_wrong_shapes_raise_value_error(shape):
    """With one head only [4, 1] and [2 worlds, 2 slots, 1] are batches of 4 slots in 2 worlds;
    a flat [4] is rejected too."""
    with pytest.raises(ValueError, match=r"shape \(4, 1\)"):
        parse(np.zeros(shape, np.int64), heads=1)


@pytest.mark.parametrize("shape", [(4,), (8,), (2, 4), (4, 1, 2), (2, 2, 1), (1, 4, 2), (4, 3), (4, 1), ()])
def test_as_action_array_wrong_shapes_with_two_heads(shape):
    """With two heads a flat [n_slots] batch is ambiguous and rejected, like other wrong shapes."""
    with pytest.raises(ValueError, match=r"shape \(4, 2\)"):
        parse(np.zeros(shape, np.int64))


# ---------------------------------------------------------------------- per agent (PettingZoo)


def test_the_layout_has_a_move_and_an_attack_head():
    assert [h.name for h in LAYOUT.heads] == ["move", "attack"]
    assert N_HEADS == 2 and ActionHead.MOVE == 0 and ActionHead.ATTACK == 1


@pytest.mark.parametrize(
    "action,values,malformed",
    [
        (None, [0, 0], 0),
        (3, [3, 0], 0),
        (np.int8(2), [2, 0], 0),
        (np.uint64(4), [4, 0], 0),
        (np.array(1), [1, 0], 0),
        ([1, 2], [1, 2], 0),
        ((3, 40), [3, 40], 0),
        (np.array([4, 7]), [4, 7], 0),
        (np.array([4, 7], np.uint8), [4, 7], 0),
        ([0, -5], [0, -5], 0),
        ([1, 2.0], [1, INVALID], 0),
        (["north", 3], [INVALID, 3], 0),
        (np.array([4]), [INVALID, 0], 0),
        ([2], [INVALID, 0], 0),
        ((3,), [INVALID, 0], 0),
        ([1, 2, 3], [INVALID, 0], 0),
        (-1, [-1, 0], 0),
        (99, [99, 0], 0),
        (2**31 - 1, [2**31 - 1, 0], 0),
        (2**31, [INVALID, 0], 0),
        (2**62, [INVALID, 0], 0),
        (-(2**31), [INVALID, 0], 0),
        ({"move": 2}, [2, 0], 0),
        ({"attack": 5}, [0, 5], 0),
        ({"move": 1, "attack": 40}, [1, 40], 0),
        ({"attack": np.int16(9), "move": np.uint8(3)}, [3, 9], 0),
        ({}, [0, 0], 0),
        ({"move": 2, "bogus": 1}, [2, 0], 1),
        ({"bogus": 1, "other": 2}, [0, 0], 2),
        ({"move": 2.0}, [INVALID, 0], 0),
        ({"attack": 2.0}, [0, INVALID], 0),
        ({"move": "north"}, [INVALID, 0], 0),
        ({"move": None}, [INVALID, 0], 0),
        ({"move": True}, [INVALID, 0], 0),
        ({"attack": False, "move": 1}, [1, INVALID], 0),
        (2.0, [INVALID, 0], 0),
        (float("nan"), [INVALID, 0], 0),
        (True, [INVALID, 0], 0),
        ("north", [INVALID, 0], 0),
        ([[1, 2]], [INVALID, 0], 0),
        (np.array([1.0, 2.0]), [INVALID, INVALID], 0),
        (np.zeros((2, 2), np.int64), [INVALID, 0], 0),
        (object(), [INVALID, 0], 0),
    ],
)
def test_agent_action_row(action, values, malformed):
    out = np.full(N_HEADS, 55, np.int64)
    assert agent_action_row(action, LAYOUT, out) == malformed
    assert out.tolist() == values


@pytest.mark.parametrize(
    "action,values",
    [
        (10**30, [INVALID, 0]),
        (-(2**70), [INVALID, 0]),
        (2**63, [INVALID, 0]),
        (np.uint64(2**64 - 1), [INVALID, 0]),
        ({"move": 10**30}, [INVALID, 0]),
        ({"attack": 10**30}, [0, INVALID]),
        ([10**30, 1], [INVALID, 1]),
        ([1, -(2**40)], [1, INVALID]),
        ([10**30], [INVALID, 0]),
        (np.array([2**40, 2]), [INVALID, 2]),
    ],
)
def test_agent_action_row_huge_ints_are_invalid_not_errors(action, values):
    out = np.zeros(N_HEADS, np.int64)
    assert agent_action_row(action, LAYOUT, out) == 0
    assert out.tolist() == values


@pytest.mark.parametrize("action", [np.array(2.5), np.array(-1), np.array(2**40), np.array("x")], ids=str)
def test_agent_action_row_zero_dim_invalid_arrays_are_counted_no_ops(action):
    out = np.full(N_HEADS, 9, np.int64)
    assert agent_action_row(action, LAYOUT, out) == 0
    assert out.tolist() == [INVALID, 0]


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ([1, [2]], [1, INVALID]),
        ([[1], [2, 3]], [INVALID, INVALID]),
        (([1, 2], 3), [INVALID, 3]),
        ((np.array([1]), 2, 3), [INVALID, 0]),
    ],
    ids=str,
)
def test_agent_action_row_ragged_sequences_are_invalid_not_errors(action, expected):
    """A malformed PettingZoo action is a counted no-op, never an exception (DESIGN section 7):
    in a sequence of one value per head, a part that is not an int makes that head invalid; a
    sequence of the wrong length makes the whole action invalid."""
    out = np.full(N_HEADS, 9, np.int64)
    assert agent_action_row(action, LAYOUT, out) == 0
    assert out.tolist() == expected
