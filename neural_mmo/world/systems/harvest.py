"""Harvest: gathering professions turn resource tiles into items (``profession.enabled``).

Resource tiles (placed by :func:`neural_mmo.world.terrain.place_resources`) and what they give:

| tile    | item (ammunition or consumable) | skill that gathers it | tool that raises its level |
|---------|---------------------------------|-----------------------|----------------------------|
| ore     | whetstone (melee ammunition)    | prospecting           | pickaxe                    |
| tree    | arrows (range ammunition)       | carving               | axe                        |
| crystal | runes (mage ammunition)         | alchemy               | chisel                     |
| herb    | potion                          | herbalism             | gloves                     |
| fish    | ration                          | fishing               | rod                        |

Every living agent harvests, in slot order, the resource tile it stands on (ore, tree, crystal
and herb tiles are walkable) and the first fish tile next to it (north, south, east, west; fish
live in water, which nobody enters). A harvest:

* gives ``profession.amount`` items of the tile's type at level
  ``min(skill level, tool level, item.max_level)``, where the tool level is that of the matching
  tool the agent wears (1 without one): a level-7 prospector with a level-3 pickaxe mines level-3
  whetstones, and without a pickaxe level-1 ones;
* happens only if they fit in the inventory (a stack of that type and level with room, or an
  empty position); otherwise nothing happens and the tile stays;
* depletes the tile (ore to slag, tree to stump, crystal to rubble, herbs to weeds, fish to fished
  water), which regrows with probability ``profession.regrow_prob`` per tick
  (:mod:`neural_mmo.world.systems.regrowth`);
* gives ``round(progression.xp_scale x profession.harvest_xp)`` XP to the gathering skill, on the
  experience table of every skill (:mod:`neural_mmo.world.systems.progression`);
* logs a HARVEST event (value: the item level; other_id: the item's id; detail: the ItemType), and
  LEVEL_UP with skill code ``N_SKILLS + Profession`` when a profession levels up.

Harvesting runs after foraging, so an agent next to fish both drinks and fishes in one tick.
"""

from __future__ import annotations

import numpy as np

from neural_mmo.world.events import EventKind, log_pair
from neural_mmo.world.items import EquipSlot, create_item
from neural_mmo.world.kernel import kernel
from neural_mmo.world.materials import DEPLETES_TO, GATHERED_BY, PASSABLE, TOOL, YIELDS
from neural_mmo.world.rng import Stream
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import Clock, World
from neural_mmo.world.systems.inventory import skill_level
from neural_mmo.world.systems.progression import add_xp
from neural_mmo.world.systems.regrowth import schedule_regrowth
from neural_mmo.world.tables import N_SKILLS


@kernel
def harvest_level(world: World, i: int, m: int, rules: Rules) -> int:
    """The level of the item agent ``i`` would harvest from material ``m`` (see module docs)."""
    tool = world.holdings.equipment[i, EquipSlot.TOOL]
    tool_level = 1
    if tool >= 0 and world.items.type[tool] == TOOL[m]:
        tool_level = int(world.items.level[tool])
    skill = skill_level(world.agents.level, world.professions.level, i, GATHERED_BY[m])
    return max(1, min(skill, tool_level, rules.item.max_level))


@kernel
def _gather(world: World, i: int, r: int, c: int, rules: Rules) -> None:
    m = world.material[r, c]
    level = harvest_level(world, i, m, rules)
    items = world.items
    k = create_item(
        items, world.holdings, world.item_ids, i, YIELDS[m], level, rules.profession.amount,
        rules.item.max_stack,
    )  # fmt: skip
    if k < 0:
        return  # no room: the tile stays
    agents, side = world.agents, world.material.shape[1]
    tick = world.clock[Clock.TICK]
    world.material[r, c] = DEPLETES_TO[m]
    schedule_regrowth(
        world.regrowth, r * side + c, tick, rules.profession.regrow_prob, world.streams[Stream.REGROWTH]
    )
    agent_id = agents.agent_id[i]
    log_pair(world.events, EventKind.HARVEST, i, agent_id, r, c, level, -1, items.item_id[k], YIELDS[m])
    code = GATHERED_BY[m]
    gained = int(round(rules.progression.xp_scale * rules.profession.harvest_xp))
    if code < N_SKILLS:
        new_level = add_xp(agents.xp, agents.level, i, code, gained, rules)
    else:
        new_level = add_xp(world.professions.xp, world.professions.level, i, code - N_SKILLS, gained, rules)
    if new_level > 0:
        log_pair(
            world.events, EventKind.LEVEL_UP, i, agent_id, agents.r[i], agents.c[i], new_level, -1, -1, code
        )


@kernel(inline=True)
def harvest(world: World, rules: Rules) -> None:
    """Every living agent harvests where it stands and one fish tile next to it (module docs)."""
    if not rules.profession.enabled:
        return
    agents, material = world.agents, world.material
    for i in range(agents.alive.shape[0]):
        if not agents.alive[i] or agents.death_cause[i] != 0:
            continue
        r = agents.r[i]
        c = agents.c[i]
        if YIELDS[material[r, c]] > 0:
            _gather(world, i, r, c, rules)
        for dr, dc in ((-1, 0), (1, 0), (0, 1), (0, -1)):
            m = material[r + dr, c + dc]
            if YIELDS[m] > 0 and not PASSABLE[m]:
                _gather(world, i, r + dr, c + dc, rules)
                break


@kernel
def write_professions_view(world: World, touched: np.ndarray, out: np.ndarray) -> None:
    """``out[i]`` (int16 ``[N_PROFESSIONS]``) of every agent slot ``i`` with ``touched[i]``: for
    one shown this tick, its profession levels; other slots are zeroed."""
    agents = world.agents
    tick = world.clock[Clock.TICK]
    for i in range(out.shape[0]):
        if not touched[i]:
            continue
        shown = agents.alive[i] or agents.death_tick[i] == tick
        for p in range(out.shape[1]):
            out[i, p] = world.professions.level[i, p] if shown else 0
