"""The action heads: what a policy chooses, and what each value means.

An *action* is one integer per head (an ``int32 [n_heads]`` row; ``[N, n_heads]`` for a world).
Value 0 of every head is the no-op, so a zero row is always a valid action and a rejected value
becomes 0. Later rules add heads (use, give, buy, sell) at the end of this table, so existing
heads keep their column and meaning.

The ``attack`` head joins style and target in one choice, so its mask can say exactly which
target each style reaches: value ``1 + (style - 1) * n_entities + row`` attacks the entity in
``row`` of the agent's own entity observation with ``style`` (1 melee, 2 range, 3 mage); see
:func:`attack_value`. The environment decodes the row into the entity it showed, and hands the
world *commands* (:mod:`neural_mmo.world.commands`): a Direction, a style and an entity number.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numba

from neural_mmo.config import Config
from neural_mmo.world.items import N_EQUIP_SLOTS
from neural_mmo.world.vocabulary import N_STYLES, Direction, Style


class ActionHead(IntEnum):
    """Column of each head in an action row."""

    MOVE = 0
    ATTACK = 1
    USE = 2  # present with item.enabled


@dataclass(frozen=True)
class HeadSpec:
    name: str
    size: int
    doc: str
    values: tuple[str, ...] = ()
    entity_blocks: int = 0
    """0 for a plain head; k when values ``1 + b * n_entities + row`` (b < k) name entity rows of
    the observation (models score those values by attention over the entity embeddings)."""
    rows_of: str = ""
    """The observation key whose rows values ``1 + row`` name (``"items"`` for ``use``), or ""."""


@numba.njit(cache=True)
def attack_value_of(style: int, row: int, n_entities: int) -> int:
    """The ``attack`` head value for ``(style, row)``, unchecked (kernels: encoder, policies)."""
    return 1 + (style - 1) * n_entities + row


@numba.njit(cache=True)
def decode_attack_of(value: int, n_entities: int) -> tuple[int, int]:
    """``(style, row)`` of a valid nonzero ``attack`` head value, unchecked (kernels)."""
    return 1 + (value - 1) // n_entities, (value - 1) % n_entities


def attack_value(style: int, row: int, n_entities: int) -> int:
    """The ``attack`` head value that attacks entity row ``row`` with ``style`` (1..3)."""
    if not 1 <= style <= N_STYLES or not 0 <= row < n_entities:
        raise ValueError(f"style must be 1..{N_STYLES} and row 0..{n_entities - 1}, got {style}, {row}")
    return int(attack_value_of(style, row, n_entities))


def decode_attack(value: int, n_entities: int) -> tuple[int, int]:
    """``(style, row)`` of an ``attack`` head value; ``(0, -1)`` for the no-op. Raises ValueError
    outside ``0 .. N_STYLES * n_entities``."""
    if not 0 <= value <= N_STYLES * n_entities:
        raise ValueError(f"attack values are 0..{N_STYLES * n_entities}, got {value}")
    if value == 0:
        return 0, -1
    style, row = decode_attack_of(value, n_entities)
    return int(style), int(row)


def action_heads(config: Config) -> tuple[HeadSpec, ...]:
    """The heads in column order, with their number of choices under ``config``."""
    rows = config.observe.n_entities
    return (
        HeadSpec(
            "move",
            len(Direction),
            "step to a neighbouring tile, or stay",
            tuple(d.name.lower() for d in Direction),
        ),
        HeadSpec(
            "attack",
            1 + N_STYLES * rows,
            f"0: no attack; 1 + (style - 1) x {rows} + row: attack entity `row` of the observation "
            "with style 1 melee, 2 range, 3 mage",
            ("none", *(f"{Style(s).name.lower()}[row]" for s in range(1, N_STYLES + 1))),
            entity_blocks=N_STYLES,
        ),
    ) + (_use_head(config) if config.item.enabled else ())


def _use_head(config: Config) -> tuple[HeadSpec, ...]:
    rows = N_EQUIP_SLOTS + config.item.inventory_slots
    return (
        HeadSpec(
            "use",
            1 + rows,
            f"0: nothing; 1 + row: use row `row` of the `items` observation (rows 0..{N_EQUIP_SLOTS - 1} "
            "equipment: take it off; later rows, the inventory: put on a weapon, tool, armour or "
            "ammunition, eat a ration, drink a potion)",
            ("none", "items[row]"),
            rows_of="items",
        ),
    )
