"""Items: the catalogue of item types, the item table, and the moves every economy rule is made of.

An item is a row of the world's :class:`ItemTable` (fixed capacity ``items.capacity``): its type,
level (1 .. ``items.max_level``), quantity (1 for items that do not stack), its holder and where
the holder keeps it. Rows are slots, as for agents and NPCs: an item is a row index, never a
Python object, and nothing is allocated while the world runs. Each item also has a global id,
unique per world and never reused, so that events and replays can follow it.

Where an item is (``ItemTable.place``):

* ``Place.INVENTORY``: in agent ``owner``'s inventory, at position ``slot``
  (0 .. ``items.inventory_slots - 1``); ``inventory[owner, slot]`` names the row;
* ``Place.EQUIPPED``: worn or wielded by ``owner``, in equipment slot ``slot`` (its
  :class:`EquipSlot`); ``equipment[owner, slot]`` names the row;
* ``Place.LISTED``: offered on the exchange by ``owner`` (the seller's slot) at ``price``; it
  has left the seller's inventory;
* ``Place.GROUND``: lying on tile ``(r, c)`` as loot, ``owner`` -1.

A free row has ``alive`` false. The two per-agent index arrays and the table always agree
(:func:`check_items` says where they do not): every inventory or equipment entry names a live
row held there, and every live row held by an agent is named by exactly one entry.

The moves (:func:`create_item`, :func:`take_into_inventory`, :func:`move_to_inventory`,
:func:`equip`, :func:`unequip`, :func:`consume`, :func:`destroy`) either do all they say or
nothing, and report which: a rule never leaves an item half moved, and no move creates or loses
quantity except :func:`create_item` (a source) and :func:`consume` / :func:`destroy` (sinks).

Catalogue. Every type has a *kind* and, for equipment, the slot it goes in:

| type      | kind        | slot   | what it is for                    | equipping needs, at its level |
|-----------|-------------|--------|-----------------------------------|-------------------------------|
| SPEAR     | weapon      | weapon | melee damage                      | melee                         |
| BOW       | weapon      | weapon | range damage                      | range                         |
| WAND      | weapon      | weapon | mage damage                       | mage                          |
| ROD       | tool        | tool   | fishing harvest level             | fishing                       |
| GLOVES    | tool        | tool   | herbalism harvest level           | herbalism                     |
| PICKAXE   | tool        | tool   | prospecting harvest level         | prospecting                   |
| AXE       | tool        | tool   | carving harvest level             | carving                       |
| CHISEL    | tool        | tool   | alchemy harvest level             | alchemy                       |
| HAT       | armour      | head   | defence                           | defence                       |
| TOP       | armour      | body   | defence                           | defence                       |
| BOTTOM    | armour      | legs   | defence                           | defence                       |
| WHETSTONE | ammunition  | ammo   | melee ammunition (stacks)         | melee                         |
| ARROW     | ammunition  | ammo   | range ammunition (stacks)         | range                         |
| RUNES     | ammunition  | ammo   | mage ammunition (stacks)          | mage                          |
| RATION    | consumable  | -      | restores food and water (stacks)  | - (anyone may eat one)        |
| POTION    | consumable  | -      | restores health (stacks)          | - (anyone may drink one)      |

A profession's level counts as 1 in a world without professions.

Items of one type and level stack in one inventory row up to ``items.max_stack`` when their
kind stacks (ammunition and consumables); other items take a row each.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numpy as np

from neural_mmo.world.kernel import kernel
from neural_mmo.world.tables import N_SKILLS, Profession, Skill, Table, column


class ItemType(IntEnum):
    """Values of ``ItemTable.type`` (0: none)."""

    NONE = 0
    SPEAR = 1
    BOW = 2
    WAND = 3
    ROD = 4
    GLOVES = 5
    PICKAXE = 6
    AXE = 7
    CHISEL = 8
    HAT = 9
    TOP = 10
    BOTTOM = 11
    WHETSTONE = 12
    ARROW = 13
    RUNES = 14
    RATION = 15
    POTION = 16


N_ITEM_TYPES = len(ItemType)


class ItemKind(IntEnum):
    """What a type is for."""

    NONE = 0
    WEAPON = 1
    TOOL = 2
    ARMOUR = 3
    AMMUNITION = 4
    CONSUMABLE = 5


class EquipSlot(IntEnum):
    """Equipment slots of an agent (``equipment[agent, slot]``)."""

    WEAPON = 0
    TOOL = 1
    HEAD = 2
    BODY = 3
    LEGS = 4
    AMMO = 5


N_EQUIP_SLOTS = len(EquipSlot)
NOT_EQUIPPABLE = -1


class Place(IntEnum):
    """Values of ``ItemTable.place``: where a live item is (see the module docs)."""

    NOWHERE = 0  # a free row
    INVENTORY = 1
    EQUIPPED = 2
    LISTED = 3
    GROUND = 4


_P = N_SKILLS  # skill code of a profession: N_SKILLS + Profession

# type: (kind, equipment slot, skill code whose level must reach the item's level to equip it)
_CATALOGUE: dict[ItemType, tuple[ItemKind, int, int]] = {
    ItemType.NONE: (ItemKind.NONE, NOT_EQUIPPABLE, -1),
    ItemType.SPEAR: (ItemKind.WEAPON, EquipSlot.WEAPON, Skill.MELEE),
    ItemType.BOW: (ItemKind.WEAPON, EquipSlot.WEAPON, Skill.RANGE),
    ItemType.WAND: (ItemKind.WEAPON, EquipSlot.WEAPON, Skill.MAGE),
    ItemType.ROD: (ItemKind.TOOL, EquipSlot.TOOL, Skill.FISHING),
    ItemType.GLOVES: (ItemKind.TOOL, EquipSlot.TOOL, _P + Profession.HERBALISM),
    ItemType.PICKAXE: (ItemKind.TOOL, EquipSlot.TOOL, _P + Profession.PROSPECTING),
    ItemType.AXE: (ItemKind.TOOL, EquipSlot.TOOL, _P + Profession.CARVING),
    ItemType.CHISEL: (ItemKind.TOOL, EquipSlot.TOOL, _P + Profession.ALCHEMY),
    ItemType.HAT: (ItemKind.ARMOUR, EquipSlot.HEAD, Skill.DEFENCE),
    ItemType.TOP: (ItemKind.ARMOUR, EquipSlot.BODY, Skill.DEFENCE),
    ItemType.BOTTOM: (ItemKind.ARMOUR, EquipSlot.LEGS, Skill.DEFENCE),
    ItemType.WHETSTONE: (ItemKind.AMMUNITION, EquipSlot.AMMO, Skill.MELEE),
    ItemType.ARROW: (ItemKind.AMMUNITION, EquipSlot.AMMO, Skill.RANGE),
    ItemType.RUNES: (ItemKind.AMMUNITION, EquipSlot.AMMO, Skill.MAGE),
    ItemType.RATION: (ItemKind.CONSUMABLE, NOT_EQUIPPABLE, -1),
    ItemType.POTION: (ItemKind.CONSUMABLE, NOT_EQUIPPABLE, -1),
}
assert list(_CATALOGUE) == list(ItemType), "one catalogue row per ItemType, in order"

KIND = np.array([row[0] for row in _CATALOGUE.values()], np.int8)
"""``KIND[type]``: the type's :class:`ItemKind`."""
EQUIP_SLOT = np.array([row[1] for row in _CATALOGUE.values()], np.int8)
"""``EQUIP_SLOT[type]``: the :class:`EquipSlot` it is worn in, -1 for none."""
REQUIRES = np.array([row[2] for row in _CATALOGUE.values()], np.int8)
"""``REQUIRES[type]``: the skill code (a Skill, or N_SKILLS + Profession) whose level must be at
least the item's level to equip it; -1 for items that are not worn."""
STYLE_OF = np.array(
    [
        {ItemType.SPEAR: 1, ItemType.WHETSTONE: 1, ItemType.BOW: 2, ItemType.ARROW: 2, ItemType.WAND: 3,
         ItemType.RUNES: 3}.get(t, 0)
        for t in ItemType
    ],
    np.int8,
)  # fmt: skip
"""``STYLE_OF[type]``: the Style (1 melee, 2 range, 3 mage) a weapon or ammunition serves; 0: none."""
STACKS = np.array([row[0] in (ItemKind.AMMUNITION, ItemKind.CONSUMABLE) for row in _CATALOGUE.values()])
"""``STACKS[type]``: whether items of the type stack (same type and level share a row)."""


class ItemColumns(NamedTuple):
    """One row per item slot (capacity ``items.capacity``)."""

    alive: np.ndarray = column(np.bool_)  # bool [I]  the row holds an item
    item_id: np.ndarray = column(np.int64, -1)  # int64 [I]  global id, unique per world; -1 when free
    type: np.ndarray = column(np.uint8)  # uint8 [I]  ItemType
    level: np.ndarray = column(np.int16)  # int16 [I]  1 .. items.max_level
    quantity: np.ndarray = column(np.int32)  # int32 [I]  >= 1 while alive (1 for types that do not stack)
    place: np.ndarray = column(np.uint8)  # uint8 [I]  Place
    owner: np.ndarray = column(np.int32, -1)  # int32 [I]  agent slot holding or selling it; -1 on the ground
    slot: np.ndarray = column(np.int16, -1)  # int16 [I]  inventory position or EquipSlot; -1 otherwise
    r: np.ndarray = column(np.int16)  # int16 [I]  tile of an item on the ground
    c: np.ndarray = column(np.int16)  # int16 [I]
    price: np.ndarray = column(np.int32)  # int32 [I]  asking price of a listed item; 0 otherwise
    listed_tick: np.ndarray = column(np.int64, -1)  # int64 [I]  tick it was listed; -1 when not listed


class ItemTable(Table, ItemColumns):
    """The items of a world (see :class:`ItemColumns` and the module docs)."""

    __slots__ = ()


class Holdings(NamedTuple):
    """Where each agent keeps its items: row numbers of the item table, -1 for an empty place."""

    inventory: np.ndarray  # int32 [N, inventory_slots]
    equipment: np.ndarray  # int32 [N, N_EQUIP_SLOTS]

    @staticmethod
    def empty(n_agents: int, inventory_slots: int, equip_slots: int = N_EQUIP_SLOTS) -> Holdings:
        """Empty holdings (``inventory_slots = equip_slots = 0`` for a world without items)."""
        inventory = np.full((n_agents, inventory_slots), -1, np.int32)
        return Holdings(inventory, np.full((n_agents, equip_slots), -1, np.int32))


# ---------------------------------------------------------------------- the moves


@kernel(inline=True)
def free_row(items: ItemTable) -> int:
    """The lowest free row, -1 when the table is full."""
    for k in range(items.alive.shape[0]):
        if not items.alive[k]:
            return k
    return -1


@kernel(inline=True)
def free_inventory_slot(holdings: Holdings, agent: int) -> int:
    """The agent's first empty inventory position, -1 when it is full."""
    row = holdings.inventory[agent]
    for s in range(row.shape[0]):
        if row[s] < 0:
            return s
    return -1


@kernel(inline=True)
def stack_row(items: ItemTable, holdings: Holdings, agent: int, type_: int, level: int, room: int) -> int:
    """The agent's inventory row of ``type_`` at ``level`` that can take ``room`` more, -1 if none
    (or the type does not stack)."""
    if not STACKS[type_]:
        return -1
    row = holdings.inventory[agent]
    for s in range(row.shape[0]):
        k = row[s]
        if k >= 0 and items.type[k] == type_ and items.level[k] == level and items.quantity[k] <= room:
            return k
    return -1


@kernel(inline=True)
def _put_in_inventory(items: ItemTable, holdings: Holdings, k: int, agent: int, s: int) -> None:
    items.place[k] = Place.INVENTORY
    items.owner[k] = agent
    items.slot[k] = s
    items.price[k] = 0
    items.listed_tick[k] = -1
    holdings.inventory[agent, s] = k


@kernel(inline=True)
def _detach(items: ItemTable, holdings: Holdings, k: int) -> None:
    """Take row ``k`` out of wherever its holder keeps it (the row stays alive, placed nowhere)."""
    place = items.place[k]
    owner = items.owner[k]
    if place == Place.INVENTORY:
        holdings.inventory[owner, items.slot[k]] = -1
    elif place == Place.EQUIPPED:
        holdings.equipment[owner, items.slot[k]] = -1
    items.place[k] = Place.NOWHERE
    items.owner[k] = -1
    items.slot[k] = -1
    items.price[k] = 0
    items.listed_tick[k] = -1


@kernel(inline=True)
def _free(items: ItemTable, k: int) -> None:
    items.alive[k] = False
    items.item_id[k] = -1
    items.type[k] = 0
    items.level[k] = 0
    items.quantity[k] = 0
    items.place[k] = Place.NOWHERE
    items.owner[k] = -1
    items.slot[k] = -1
    items.r[k] = 0
    items.c[k] = 0
    items.price[k] = 0
    items.listed_tick[k] = -1


@kernel
def create_item(
    items: ItemTable, holdings: Holdings, next_id: np.ndarray, agent: int, type_: int, level: int,
    quantity: int, max_stack: int,
) -> int:  # fmt: skip
    """Give agent ``agent`` ``quantity`` new items of ``type_`` at ``level``: added to a stack of
    its inventory with room for them, else to a new row in its first empty position. Returns the
    row, or -1 when they do not fit (full inventory, full table, or more than a stack holds):
    then nothing changed. ``next_id[0]`` is the world's next item id (advanced when a row is made).
    """
    if quantity < 1 or type_ <= 0 or type_ >= N_ITEM_TYPES or quantity > (max_stack if STACKS[type_] else 1):
        return -1
    k = stack_row(items, holdings, agent, type_, level, max_stack - quantity)
    if k >= 0:
        items.quantity[k] += quantity
        return k
    s = free_inventory_slot(holdings, agent)
    k = free_row(items)
    if s < 0 or k < 0:
        return -1
    items.alive[k] = True
    items.item_id[k] = next_id[0]
    next_id[0] += 1
    items.type[k] = type_
    items.level[k] = level
    items.quantity[k] = quantity
    _put_in_inventory(items, holdings, k, agent, s)
    return k


@kernel
def move_to_inventory(items: ItemTable, holdings: Holdings, k: int, agent: int, max_stack: int) -> bool:
    """Move live row ``k`` (wherever it is) into agent ``agent``'s inventory, merging it into a
    stack with room when its type stacks (row ``k`` is then freed). False, and nothing changed,
    when it does not fit."""
    if k < 0 or k >= items.alive.shape[0] or not items.alive[k]:
        return False
    if items.place[k] == Place.INVENTORY and items.owner[k] == agent:
        return True
    into = stack_row(items, holdings, agent, items.type[k], items.level[k], max_stack - items.quantity[k])
    if into >= 0 and into != k:
        items.quantity[into] += items.quantity[k]
        _detach(items, holdings, k)
        _free(items, k)
        return True
    s = free_inventory_slot(holdings, agent)
    if s < 0:
        return False
    _detach(items, holdings, k)
    _put_in_inventory(items, holdings, k, agent, s)
    return True


@kernel
def equip(items: ItemTable, holdings: Holdings, agent: int, s: int) -> bool:
    """Wear or wield the item at agent ``agent``'s inventory position ``s`` in its type's
    equipment slot; what was there goes back to the inventory position ``s`` frees (a swap).
    False, and nothing changed, when there is no equippable item at ``s``. (Requirements such as
    the skill level are the caller's rule.)"""
    if s < 0 or s >= holdings.inventory.shape[1]:
        return False
    k = holdings.inventory[agent, s]
    if k < 0:
        return False
    e = EQUIP_SLOT[items.type[k]]
    if e < 0:
        return False
    worn = holdings.equipment[agent, e]
    holdings.inventory[agent, s] = -1
    if worn >= 0:
        _put_in_inventory(items, holdings, worn, agent, s)
    items.place[k] = Place.EQUIPPED
    items.slot[k] = e
    holdings.equipment[agent, e] = k
    return True


@kernel
def unequip(items: ItemTable, holdings: Holdings, agent: int, e: int) -> bool:
    """Take off what agent ``agent`` wears in equipment slot ``e`` into its first empty inventory
    position. False, and nothing changed, when the slot is empty or the inventory full."""
    if e < 0 or e >= N_EQUIP_SLOTS:
        return False
    k = holdings.equipment[agent, e]
    s = free_inventory_slot(holdings, agent)
    if k < 0 or s < 0:
        return False
    holdings.equipment[agent, e] = -1
    _put_in_inventory(items, holdings, k, agent, s)
    return True


@kernel
def consume(items: ItemTable, holdings: Holdings, k: int, amount: int) -> bool:
    """Use up ``amount`` of live row ``k`` (the row is freed at 0). False, and nothing changed,
    when it holds less."""
    if k < 0 or k >= items.alive.shape[0] or not items.alive[k] or amount < 1 or items.quantity[k] < amount:
        return False
    items.quantity[k] -= amount
    if items.quantity[k] == 0:
        _detach(items, holdings, k)
        _free(items, k)
    return True


@kernel
def destroy(items: ItemTable, holdings: Holdings, k: int) -> bool:
    """Remove live row ``k`` and all its quantity from the world."""
    if k < 0 or k >= items.alive.shape[0] or not items.alive[k]:
        return False
    _detach(items, holdings, k)
    _free(items, k)
    return True


@kernel
def drop_to_ground(items: ItemTable, holdings: Holdings, k: int, r: int, c: int) -> bool:
    """Put live row ``k`` on tile ``(r, c)`` as loot (out of whoever held it)."""
    if k < 0 or k >= items.alive.shape[0] or not items.alive[k]:
        return False
    _detach(items, holdings, k)
    items.place[k] = Place.GROUND
    items.r[k] = r
    items.c[k] = c
    return True


@kernel
def list_item(
    items: ItemTable, holdings: Holdings, next_id: np.ndarray, agent: int, s: int, price: int, tick: int
) -> int:  # fmt: skip
    """List one piece of the item at agent ``agent``'s inventory position ``s`` on the exchange at
    ``price``: the whole row when it holds one piece, else one piece split off into a new row (a
    new item id). Returns the listed row, or -1 (nothing changed) when the position is empty, the
    price below 1, or a split finds the table full."""
    if s < 0 or s >= holdings.inventory.shape[1] or price < 1:
        return -1
    k = holdings.inventory[agent, s]
    if k < 0:
        return -1
    if items.quantity[k] > 1:
        piece = free_row(items)
        if piece < 0:
            return -1
        items.quantity[k] -= 1
        items.alive[piece] = True
        items.item_id[piece] = next_id[0]
        next_id[0] += 1
        items.type[piece] = items.type[k]
        items.level[piece] = items.level[k]
        items.quantity[piece] = 1
        k = piece
    else:
        _detach(items, holdings, k)
    items.place[k] = Place.LISTED
    items.owner[k] = agent
    items.slot[k] = -1
    items.price[k] = price
    items.listed_tick[k] = tick
    return k


# ---------------------------------------------------------------------- combat


@kernel
def attack_bonus(
    item_type: np.ndarray, item_level: np.ndarray, item_quantity: np.ndarray, equipment: np.ndarray, i: int,
    style: int, weapon_per_level: int, ammo_per_level: int,
) -> int:  # fmt: skip
    """The damage agent ``i``'s equipment adds to a hit of ``style``: ``weapon_per_level`` x the
    level of a weapon of that style, plus ``ammo_per_level`` x the level of ammunition of that
    style, of which the attack uses one up (hit or miss): its quantity may reach 0, and
    :func:`drop_spent_ammunition` frees such rows once the attacks are resolved.

    Takes the columns, not the tables: numba reference-counts every array of a record handed to a
    function, which on this per-attack path would cost more than the rule."""
    bonus = 0
    w = equipment[i, EquipSlot.WEAPON]
    if w >= 0 and STYLE_OF[item_type[w]] == style:
        bonus += weapon_per_level * int(item_level[w])
    a = equipment[i, EquipSlot.AMMO]
    if a >= 0 and STYLE_OF[item_type[a]] == style and item_quantity[a] > 0:
        bonus += ammo_per_level * int(item_level[a])
        item_quantity[a] -= 1
    return bonus


@kernel
def drop_spent_ammunition(items: ItemTable, holdings: Holdings) -> None:
    """Free the rows of worn ammunition whose last piece was used (quantity 0)."""
    for i in range(holdings.equipment.shape[0]):
        a = holdings.equipment[i, EquipSlot.AMMO]
        if a >= 0 and items.quantity[a] == 0:
            destroy(items, holdings, a)


@kernel
def armour_block(item_level: np.ndarray, equipment: np.ndarray, i: int, per_level: int) -> int:
    """Damage agent ``i``'s armour takes off each hit: ``per_level`` x the levels of the hat, top
    and bottom it wears, summed (columns, as :func:`attack_bonus`)."""
    levels = 0
    for e in (EquipSlot.HEAD, EquipSlot.BODY, EquipSlot.LEGS):
        k = equipment[i, e]
        if k >= 0:
            levels += int(item_level[k])
    return per_level * levels


# ---------------------------------------------------------------------- checking


def check_items(
    items: ItemTable, holdings: Holdings, max_stack: int, listed: np.ndarray | None = None
) -> list[str]:
    """Every way the item table and the holdings disagree (empty when they agree); with
    ``listed`` (the exchange's listings per agent), also every way the listings disagree with it."""
    problems: list[str] = []
    inventory, equipment = holdings
    named: dict[int, tuple[str, int, int]] = {}
    for where, index in (("inventory", inventory), ("equipment", equipment)):
        for agent, s in zip(*np.nonzero(index >= 0)):
            k = int(index[agent, s])
            if k in named:
                problems.append(f"row {k} is named twice: {named[k]} and {(where, int(agent), int(s))}")
            named[k] = (where, int(agent), int(s))
            if not (0 <= k < items.capacity) or not items.alive[k]:
                problems.append(f"{where}[{agent}, {s}] names row {k}, which holds no item")
                continue
            place = Place.INVENTORY if where == "inventory" else Place.EQUIPPED
            if items.place[k] != place or items.owner[k] != agent or items.slot[k] != s:
                problems.append(f"{where}[{agent}, {s}] names row {k}, placed {items.row(k)}")
    # the exchange's scans read a row's place alone: a free row must be placed NOWHERE
    for row in np.flatnonzero(~items.alive & (items.place != Place.NOWHERE)):
        problems.append(f"row {int(row)} holds no item but is placed {items.place[row]}")
    for row in np.flatnonzero(items.alive):
        k = int(row)
        t = int(items.type[k])
        if not 0 < t < N_ITEM_TYPES:
            problems.append(f"row {k} has type {t}")
            continue
        limit = max_stack if STACKS[t] else 1
        if not 1 <= items.quantity[k] <= limit:
            problems.append(f"row {k} ({ItemType(t).name}) holds {items.quantity[k]}, outside 1 .. {limit}")
        if items.place[k] in (Place.INVENTORY, Place.EQUIPPED) and k not in named:
            problems.append(f"row {k} is held by agent {items.owner[k]} but not named in its holdings")
        if items.place[k] == Place.EQUIPPED and EQUIP_SLOT[t] != items.slot[k]:
            problems.append(f"row {k} ({ItemType(t).name}) is worn in slot {items.slot[k]}")
        if items.place[k] == Place.NOWHERE:
            problems.append(f"row {k} is alive but placed nowhere")
        if items.place[k] == Place.LISTED and not (
            0 <= items.owner[k] < inventory.shape[0] and items.price[k] >= 1 and items.quantity[k] == 1
            and items.listed_tick[k] >= 0
        ):  # fmt: skip
            problems.append(f"row {k} is listed as {items.row(k)}")
        if items.place[k] > Place.GROUND:
            problems.append(f"row {k} has place {items.place[k]}")
    if listed is not None:
        on_market = items.alive & (items.place == Place.LISTED)
        owners = items.owner[on_market]
        counts = np.bincount(owners[(owners >= 0) & (owners < len(listed))], minlength=len(listed))
        if (counts != listed).any():
            problems.append(
                f"listings per agent {listed.tolist()} do not match the listed rows {counts.tolist()}"
            )
    ids = items.item_id[items.alive]
    if len(np.unique(ids)) != len(ids):
        problems.append("two live rows share an item id")
    return problems


# ---------------------------------------------------------------------- the agent's own view


class ItemView(IntEnum):
    """Columns of the ``items`` observation: one row per equipment slot (in :class:`EquipSlot`
    order), then one per inventory position; a zero row is an empty place."""

    TYPE = 0  # ItemType
    LEVEL = 1
    QUANTITY = 2  # saturated at 32767
    EQUIPPED = 3  # 1 on the equipment rows that hold an item


@kernel
def write_items_view(items: ItemTable, holdings: Holdings, alive: np.ndarray, death_tick: np.ndarray,
                     tick: int, touched: np.ndarray, out: np.ndarray) -> None:  # fmt: skip
    """``out[i]`` (int16 ``[N_EQUIP_SLOTS + inventory_slots, len(ItemView)]``) of every agent slot
    ``i`` with ``touched[i]``: for one shown this tick (alive, or died this tick), its equipment
    rows, then its inventory rows; other slots are zeroed."""
    n_equip = holdings.equipment.shape[1]
    for i in range(out.shape[0]):
        if not touched[i]:
            continue
        shown = alive[i] or death_tick[i] == tick
        for row in range(out.shape[1]):
            k = -1
            if shown:
                k = holdings.equipment[i, row] if row < n_equip else holdings.inventory[i, row - n_equip]
            view = out[i, row]
            if k < 0:
                view[ItemView.TYPE] = 0
                view[ItemView.LEVEL] = 0
                view[ItemView.QUANTITY] = 0
                view[ItemView.EQUIPPED] = 0
                continue
            view[ItemView.TYPE] = items.type[k]
            view[ItemView.LEVEL] = items.level[k]
            view[ItemView.QUANTITY] = min(items.quantity[k], 32767)
            view[ItemView.EQUIPPED] = row < n_equip


class EquipmentView(IntEnum):
    """Columns of the ``equipment`` observation: what each entity row's agent visibly wears (zero
    rows for NPCs and empty rows)."""

    WEAPON = 0  # ItemType of its weapon (0: none)
    WEAPON_LEVEL = 1
    ARMOUR_LEVEL = 2  # levels of its hat, top and bottom, summed


@kernel
def write_equipment_view(
    items: ItemTable, equipment: np.ndarray, entity_slot: np.ndarray, shown: np.ndarray, held: np.ndarray,
    worn: np.ndarray, out: np.ndarray,
) -> None:  # fmt: skip
    """``out[i, row]`` (int16 ``[n_entities, len(EquipmentView)]``): the equipment of the agent
    that entity row ``row`` of slot ``i``'s observation shows (``entity_slot``; -1: nobody).

    Each agent's row is made once (``worn``: int16 ``[n_agents + n_npcs, len(EquipmentView)]``,
    work space whose NPC rows stay zero) and copied into every observation that shows it. Entity
    rows are filled from the top: slot ``i`` shows ``shown[i]`` rows now and its view held
    ``held[i]`` rows last tick (later rows are zero), so only the first ``max`` of the two rows
    are written (an agent sees ~5 of 32 rows; zeroing all 32 was most of this view's cost)."""
    for j in range(equipment.shape[0]):
        w = equipment[j, EquipSlot.WEAPON]
        worn[j, EquipmentView.WEAPON] = items.type[w] if w >= 0 else 0
        worn[j, EquipmentView.WEAPON_LEVEL] = items.level[w] if w >= 0 else 0
        armour = 0
        for e in (EquipSlot.HEAD, EquipSlot.BODY, EquipSlot.LEGS):
            k = equipment[j, e]
            if k >= 0:
                armour += items.level[k]
        worn[j, EquipmentView.ARMOUR_LEVEL] = armour
    for i in range(out.shape[0]):
        for row in range(min(max(shown[i], held[i]), out.shape[1])):
            j = entity_slot[i, row]
            if j < 0:
                out[i, row, EquipmentView.WEAPON] = 0
                out[i, row, EquipmentView.WEAPON_LEVEL] = 0
                out[i, row, EquipmentView.ARMOUR_LEVEL] = 0
            else:
                out[i, row, EquipmentView.WEAPON] = worn[j, EquipmentView.WEAPON]
                out[i, row, EquipmentView.WEAPON_LEVEL] = worn[j, EquipmentView.WEAPON_LEVEL]
                out[i, row, EquipmentView.ARMOUR_LEVEL] = worn[j, EquipmentView.ARMOUR_LEVEL]
