"""Action checking shared by both APIs: anything invalid becomes that head's no-op, and is counted.

Invalid means: not an integer, out of the head's range, or masked out by the agent's current
``action_mask``. Valid actions are decoded into the world's commands (the attack head's row
becomes the entity that row showed; a style-only attack head, ``combat.auto_target``, leaves the
target to the world), so the world only ever sees clean command rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from neural_mmo.observe.heads import ActionHead, decode_attack_of, gold_amount
from neural_mmo.observe.layout import ObsLayout
from neural_mmo.world.commands import NO_COMMAND, Command
from neural_mmo.world.kernel import kernel

INVALID = -1
"""Marker for a value that is not an integer at all; always rejected."""


_NO_COMMAND = np.array(NO_COMMAND, np.int32)  # a global array: a constant of the compiled code


@kernel(inline=True)
def _checked(raw: np.ndarray, action_mask: np.ndarray, invalid: np.ndarray, i: int, h: int, offset: int,
             size: int) -> int:  # fmt: skip
    """Slot ``i``'s value of head ``h``, or 0 when it is out of range or masked (counted unless 0)."""
    v = raw[i, h]
    if v < 0 or v >= size or action_mask[i, offset + v] == 0:
        invalid[i] += v != 0
        return 0
    return v


@kernel
def sanitize_actions(
    raw: np.ndarray,
    action_mask: np.ndarray,
    offsets: np.ndarray,
    sizes: np.ndarray,
    alive: np.ndarray,
    entity_slot: np.ndarray,
    commands: np.ndarray,
    invalid: np.ndarray,
    style_only: bool,
    price_unit: int = 1,
) -> None:
    """Decode ``raw`` action rows into ``commands`` (``int32 [n, len(Command)]``; without economy
    heads in ``raw`` the columns after the attack's are left as they are: keep them at their
    no-ops, :data:`NO_COMMAND`); a value that is out of range or masked becomes its head's no-op,
    and ``invalid[i]`` counts such heads (0 for an empty slot).
    ``style_only``: the attack head names a style alone (``combat.auto_target``; the world aims);
    ``price_unit`` decodes the sell_price head (``neural_mmo.observe.heads``).

    Head by head, each over every slot: the choice of decoding is made once per head, not per
    value."""
    n, n_rows = raw.shape[0], entity_slot.shape[1]
    for i in range(n):
        invalid[i] = 0
    if raw.shape[1] > ActionHead.USE:  # the economy's columns: reset, then set where a head acts
        for i in range(n):
            for col in range(Command.USE, commands.shape[1]):
                commands[i, col] = _NO_COMMAND[col]
    for h in range(raw.shape[1]):
        o, size = offsets[h], sizes[h]
        if h == ActionHead.MOVE:
            for i in range(n):
                commands[i, Command.MOVE] = _checked(raw, action_mask, invalid, i, h, o, size)
        elif h == ActionHead.ATTACK:
            for i in range(n):
                v = _checked(raw, action_mask, invalid, i, h, o, size)
                if v == 0 or style_only:
                    commands[i, Command.STYLE] = v
                    commands[i, Command.TARGET] = -1
                else:
                    style, row = decode_attack_of(v, n_rows)
                    commands[i, Command.STYLE] = style
                    commands[i, Command.TARGET] = entity_slot[i, row]
        else:
            for i in range(n):
                v = _checked(raw, action_mask, invalid, i, h, o, size)
                if v == 0:
                    continue
                if h == ActionHead.USE:
                    commands[i, Command.USE] = v - 1  # a row of the items observation
                elif h == ActionHead.DESTROY:
                    commands[i, Command.DESTROY] = v - 1  # an inventory position
                elif h == ActionHead.GIVE:
                    commands[i, Command.GIVE] = v - 1  # an inventory position
                elif h == ActionHead.GIVE_TO:
                    commands[i, Command.GIVE_TO] = entity_slot[i, v - 1]
                elif h == ActionHead.GIVE_GOLD:
                    commands[i, Command.GOLD] = gold_amount(v - 1)
                elif h == ActionHead.GIVE_GOLD_TO:
                    commands[i, Command.GOLD_TO] = entity_slot[i, v - 1]
                elif h == ActionHead.SELL:
                    commands[i, Command.SELL] = v - 1  # an inventory position
                elif h == ActionHead.SELL_PRICE:
                    commands[i, Command.PRICE] = price_unit << (v - 1)
                elif h == ActionHead.BUY:
                    commands[i, Command.BUY] = v - 1  # a market row
    for i in range(n):
        if not alive[i]:
            invalid[i] = 0


def as_action_array(actions: Any, n_worlds: int, n_slots: int, n_heads: int, out: np.ndarray) -> None:
    """Copy a batch of actions (``[n_slots, n_heads]``, or ``[n_worlds, n_slots / n_worlds,
    n_heads]``) into the int64 ``out``; non-integral floats become INVALID.

    Raises TypeError for a non-array or non-numeric input and ValueError for a wrong shape.
    """
    if type(actions) is np.ndarray and actions.dtype.kind == "i" and actions.shape == (n_slots, n_heads):
        out[...] = actions  # the common case (signed integers widen exactly), without the checks below
        return
    if isinstance(actions, (Mapping, str, bytes)) or actions is None:
        raise TypeError(
            f"actions must be an integer array of shape ({n_slots}, {n_heads}), got {type(actions).__name__}"
        )
    array = np.asarray(actions)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"actions must be an integer array, got dtype {array.dtype}")
    per_world = (n_worlds, n_slots // n_worlds, n_heads)
    if array.shape == per_world:
        array = array.reshape(n_slots, n_heads)
    if array.shape != (n_slots, n_heads):
        raise ValueError(f"actions must have shape ({n_slots}, {n_heads}), got {array.shape}")
    if array.dtype.kind == "f":
        ok = np.isfinite(array) & (array == np.floor(array)) & (np.abs(array) < 2**31)
        array = np.where(ok, array, INVALID)
    np.copyto(out, array, casting="unsafe")


_LIMIT = 2**31


def _as_int(value: Any) -> int:
    """An action value as an int, or INVALID for non-integers and absurdly large values."""
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iu":
        value = value.item()
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value) if -_LIMIT < value < _LIMIT else INVALID
    return INVALID


def agent_action_row(action: Any, layout: ObsLayout, out: np.ndarray) -> int:
    """Write one PettingZoo action into ``out`` (int64 ``[n_heads]``); return how many parts were
    malformed (unknown head names, wrong shapes, non-integers). Accepted forms: a dict
    ``{head: int}`` (missing heads are no-ops), a sequence of one int per head, a plain int (the
    first head, ``move``), or None (all no-ops)."""
    out.fill(0)
    if action is None:
        return 0
    if isinstance(action, Mapping):
        bad = 0
        names = {h.name: k for k, h in enumerate(layout.heads)}
        for name, value in action.items():
            k = names.get(name)
            if k is None:
                bad += 1
            else:
                out[k] = _as_int(value)
        return bad
    value = _as_int(action)
    if value != INVALID:
        out[0] = value
        return 0
    sequence = isinstance(action, (list, tuple)) or isinstance(action, np.ndarray) and action.ndim == 1
    if sequence and len(action) == len(layout.heads):
        out[:] = [_as_int(v) for v in action]  # a nested part is not an int: INVALID, that head only
        return 0
    out[0] = INVALID
    return 0
