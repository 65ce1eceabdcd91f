"""The action heads: what a policy chooses, and what each value means.

An *action* is one integer per head (an ``int32 [n_heads]`` row; ``[N, n_heads]`` for a world).
Value 0 of every head is the no-op, so a zero row is always a valid action and a rejected value
becomes 0. Later rules add heads (use, give, buy, sell) at the end of this table, so existing
heads keep their column and meaning.

An action with two arguments that the world checks independently gets one head per argument
(``give`` names the item, ``give_to`` the receiver; ``sell`` the item, ``sell_price`` the price):
it happens when both heads are nonzero, and either alone does nothing (not counted as invalid).
The masks stay exact: a nonzero value is allowed only when some allowed value of the other head
completes it, so any pair of allowed nonzero values is an action that happens. (Joined into one
head the pairs would be products: 12 positions x 32 receivers = 384 values for ``give`` alone,
written and scored for every agent every tick.)

The ``attack`` head joins style and target in one choice, so its mask can say exactly which
target each style reaches: value ``1 + (style - 1) * n_entities + row`` attacks the entity in
``row`` of the agent's own entity observation with ``style`` (1 melee, 2 range, 3 mage); see
:func:`attack_value`. The environment decodes the row into the entity it showed, and hands the
world *commands* (:mod:`neural_mmo.world.commands`): a Direction, a style and an entity number.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from neural_mmo.config import Config
from neural_mmo.world.items import N_EQUIP_SLOTS, N_ITEM_TYPES
from neural_mmo.world.kernel import kernel
from neural_mmo.world.vocabulary import N_STYLES, Direction, Style


class ActionHead(IntEnum):
    """Column of each head in an action row."""

    MOVE = 0
    ATTACK = 1
    USE = 2  # this and the next five: present with item.enabled
    DESTROY = 3
    GIVE = 4
    GIVE_TO = 5
    GIVE_GOLD = 6
    GIVE_GOLD_TO = 7
    SELL = 8  # this and the next two: present with exchange.enabled
    SELL_PRICE = 9
    BUY = 10


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
    """The observation key whose rows values name (``"items"`` for ``use``, ``"market"`` for
    ``buy``), or "": value ``1 + row`` names row ``row_offset + row`` of it."""
    row_offset: int = 0


@kernel
def attack_value_of(style: int, row: int, n_entities: int) -> int:
    """The ``attack`` head value for ``(style, row)``, unchecked (kernels: encoder, policies)."""
    return 1 + (style - 1) * n_entities + row


@kernel
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
        (
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
        )
        + (_item_heads(config) if config.item.enabled else ())
        + (_exchange_heads(config) if config.exchange.enabled else ())
    )


@kernel
def gold_amount(bucket: int) -> int:
    """Gold the give-gold head's amount ``bucket`` gives: ``2 ** bucket``."""
    return 1 << bucket


def _item_heads(config: Config) -> tuple[HeadSpec, ...]:
    rows = N_EQUIP_SLOTS + config.item.inventory_slots
    slots, entities, buckets = (
        config.item.inventory_slots,
        config.observe.n_entities,
        config.item.gold_buckets,
    )
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
        HeadSpec(
            "destroy",
            1 + slots,
            f"0: nothing; 1 + s: destroy the item at inventory position s (row {N_EQUIP_SLOTS} + s of "
            "`items`)",
            ("none", "inventory[s]"),
            rows_of="items",
            row_offset=N_EQUIP_SLOTS,
        ),
        HeadSpec(
            "give",
            1 + slots,
            "0: nothing; 1 + s: give the item at inventory position s to the agent `give_to` names "
            "(with both nonzero)",
            ("none", "inventory[s]"),
            rows_of="items",
            row_offset=N_EQUIP_SLOTS,
        ),
        HeadSpec(
            "give_to",
            1 + entities,
            "0: nobody; 1 + row: the agent in entity row `row` receives the item `give` names (another "
            "living agent within item.give_reach tiles, with an empty inventory position)",
            ("none", "entities[row]"),
            entity_blocks=1,
        ),
        HeadSpec(
            "give_gold",
            1 + buckets,
            "0: nothing; 1 + b: give 2 ** b gold to the agent `give_gold_to` names (with both nonzero)",
            ("none", *(f"{gold_amount(b)}" for b in range(buckets))),
        ),
        HeadSpec(
            "give_gold_to",
            1 + entities,
            "0: nobody; 1 + row: the agent in entity row `row` receives the gold `give_gold` names "
            "(another living agent within item.give_reach tiles)",
            ("none", "entities[row]"),
            entity_blocks=1,
        ),
    )


def sell_price(config: Config, bucket: int) -> int:
    """Asking price of the sell head's price ``bucket``: ``exchange.price_unit x 2 ** bucket``."""
    return config.exchange.price_unit << bucket


def market_rows(config: Config) -> int:
    """Rows of the published market table: one per item type and level."""
    return (N_ITEM_TYPES - 1) * config.item.max_level


def _exchange_heads(config: Config) -> tuple[HeadSpec, ...]:
    slots, buckets = config.item.inventory_slots, config.exchange.price_buckets
    return (
        HeadSpec(
            "sell",
            1 + slots,
            "0: nothing; 1 + s: list one piece of the item at inventory position s on the exchange, at "
            "the price `sell_price` names (with both nonzero)",
            ("none", "inventory[s]"),
            rows_of="items",
            row_offset=N_EQUIP_SLOTS,
        ),
        HeadSpec(
            "sell_price",
            1 + buckets,
            "0: nothing; 1 + b: the asking price of the item `sell` names: exchange.price_unit x 2 ** b",
            ("none", *(f"{sell_price(config, b)}" for b in range(buckets))),
        ),
        HeadSpec(
            "buy",
            1 + market_rows(config),
            "0: nothing; 1 + m: buy the cheapest listing of row m of the market table (item type and "
            "level) offered by another agent",
            ("none", "market[m]"),
            rows_of="market",
        ),
    )
