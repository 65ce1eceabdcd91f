"""Entrants of a tournament: a checkpoint (one policy per population it trained) or a scripted
policy, and how each acts for its own agents in a shared world.

Every agent of a tournament world belongs to one *world population* (its population column, the
agent id modulo the number of populations). Each entrant owns a block of them: a checkpoint that
trained ``k`` populations owns ``k``, a scripted policy one. An entrant acts for the living agents
of its block only, and sees them as it saw its own agents in training: the observation's
population numbers (the entity column and the tile channel) are renumbered into the entrant's
own (its populations ``0 .. k-1``; another entrant's agents as population ``p mod k``), so a
model trained with one population sees every agent as one of its own kind, as it did in training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neural_mmo.agents import POLICIES, make_policy
from neural_mmo.agents.base import Policy
from neural_mmo.config import Config
from neural_mmo.observe.heads import ActionHead
from neural_mmo.observe.layout import EntityColumn, EntityKind, ObsLayout, TileChannel
from neural_mmo.world.vocabulary import N_STYLES


class EntrantError(ValueError):
    """An entrant that cannot play: a missing or unreadable checkpoint, an unknown policy name,
    checkpoints of different observation or action layouts."""


@dataclass
class Entrant:
    """One side of a tournament.

    ``policy``: a :class:`~neural_mmo.agents.base.Policy` (scripted entrants, or any policy you
    bring), or None for a checkpoint, whose ``models`` act (one per population). ``game``: the
    game config the checkpoint trained on (None for scripted entrants).
    """

    name: str
    populations: int = 1
    game: Config | None = None
    models: list[Any] | None = None
    policy: Policy | None = None
    source: str = ""
    states: list[Any] | None = field(default=None, repr=False)  # recurrent state per population
    states_slots: int = 0  # the slot count the states were made for
    adapter: Adapter | None = field(default=None, repr=False)  # set by the tournament (see Adapter)

    @property
    def is_checkpoint(self) -> bool:
        return self.models is not None

    def layout_signature(self) -> tuple:
        """Shapes of the observation arrays and sizes of the action heads this entrant expects."""
        layout = self.models[0].layout if self.models else self.policy.layout  # type: ignore[union-attr]
        return signature(layout)

    def act(self, observations: dict[str, np.ndarray], slots: np.ndarray, n_slots: int) -> np.ndarray:
        """Actions ``int [len(slots), n_heads]`` for the agents in ``slots`` (their observations,
        already renumbered into this entrant's populations; the entrant's adapter applied)."""
        seen = self.adapter.observations(observations) if self.adapter is not None else observations
        if self.policy is not None:
            actions = np.asarray(self.policy.act(seen))
        else:
            actions = _act_models(self, seen, slots, n_slots)
        return self.adapter.actions(actions, observations) if self.adapter is not None else actions

    def restart(self, rows: np.ndarray) -> None:
        """New agents in slots ``rows``: forget their recurrent state (models) or tell the policy."""
        if self.policy is not None:
            self.policy.restart(rows)
            return
        if self.states is None:
            return
        import torch

        from neural_mmo.train.models import reset_state

        where = torch.zeros(self.states_slots, dtype=torch.bool)
        where[torch.as_tensor(rows, dtype=torch.long)] = True
        self.states = [
            None if s is None else reset_state(s, where, m.initial_state(self.states_slots))
            for s, m in zip(self.states, self.models or [])
        ]


class Adapter:
    """How a checkpoint trained under other combat settings plays a tournament's game (the
    documented way to make such entrants compatible):

    * trained with automatic targeting (``combat.auto_target``) in a game of learned targeting:
      it sees the attack mask collapsed to one entry per style (a style is allowed when any row
      is), and its style becomes an attack on the allowed entity row of lowest health (ties: the
      nearest), which is what the world does under automatic targeting;
    * trained without combat (``combat.enabled = false``): it sees only the attack no-op allowed,
      and so never attacks, as in training.
    """

    def __init__(self, layout: ObsLayout, style_only: bool, no_attacks: bool):
        self.offset = int(layout.action_offsets[ActionHead.ATTACK])
        self.size = int(layout.heads[ActionHead.ATTACK].size)
        self.rows = layout.n_entities
        self.style_only = style_only and self.size == 1 + N_STYLES * self.rows
        self.no_attacks = no_attacks

    def observations(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        mask = obs["action_mask"]
        o, size = self.offset, self.size
        if self.no_attacks:
            mask[:, o + 1 : o + size] = 0
        if not self.style_only:
            return obs
        blocks = mask[:, o + 1 : o + size].reshape(len(mask), N_STYLES, self.rows)
        styles = blocks.any(axis=2).astype(mask.dtype)
        adapted = dict(obs)
        adapted["action_mask"] = np.concatenate([mask[:, : o + 1], styles, mask[:, o + size :]], axis=1)
        return adapted

    def actions(self, actions: np.ndarray, obs: dict[str, np.ndarray]) -> np.ndarray:
        if not self.style_only:
            return actions
        o, n = self.offset, self.rows
        allowed = obs["action_mask"][:, o + 1 : o + self.size].reshape(len(actions), N_STYLES, n) != 0
        health = obs["entities"][:, None, :, EntityColumn.HEALTH].astype(np.int64)
        best = np.where(allowed, health, np.iinfo(np.int64).max).argmin(axis=2)  # [k, styles]: nearest first
        style = actions[:, ActionHead.ATTACK].astype(np.int64)
        chosen = np.clip(style, 1, N_STYLES) - 1
        row = best[np.arange(len(actions)), chosen]
        ok = (style >= 1) & (style <= N_STYLES) & allowed[np.arange(len(actions)), chosen, row]
        out = actions.copy()
        out[:, ActionHead.ATTACK] = np.where(ok, 1 + chosen * n + row, 0)
        return out


def signature(layout: ObsLayout) -> tuple:
    return tuple((f.key, f.shape) for f in layout.fields) + tuple((h.name, h.size) for h in layout.heads)


def _act_models(entrant: Entrant, obs: dict[str, np.ndarray], slots: np.ndarray, n_slots: int) -> np.ndarray:
    import torch

    from neural_mmo.train.io import batch_of, sample
    from neural_mmo.train.ppo import _put, _take

    models = entrant.models or []
    if entrant.states is None or entrant.states_slots != n_slots:
        entrant.states_slots = n_slots
        entrant.states = [m.initial_state(n_slots) if m.recurrent else None for m in models]
    out = np.zeros((len(slots), len(models[0].layout.heads)), np.int64)
    population = obs["entities"][:, 0, EntityColumn.POPULATION].astype(np.int64) % len(models)
    with torch.no_grad():
        for p, model in enumerate(models):
            mine = np.flatnonzero(population == p)
            if mine.size == 0:
                continue
            batch = batch_of(obs, mine, model.input.table_views)
            state = None
            index = torch.from_numpy(slots[mine])
            if model.recurrent:
                state = _take(entrant.states[p], index)
            logits, _, state = model(batch, state)
            if model.recurrent:
                _put(entrant.states[p], index, state)
            out[mine] = sample(logits).numpy()
    return out


def renumber_tables(world_populations: int, offset: int, own: int) -> tuple[np.ndarray, np.ndarray]:
    """``(population_map, tile_map)`` for an entrant owning world populations ``offset ..
    offset + own - 1`` of ``world_populations``: each world population's number as the entrant
    sees it, and each OCCUPANT tile code's."""
    pops = np.arange(world_populations)
    mine = (pops >= offset) & (pops < offset + own)
    population_map = np.where(mine, pops - offset, pops % own).astype(np.int16)
    npc_codes = 4  # codes n_populations + Behaviour (1..3), and one spare
    tile_map = np.zeros(1 + world_populations + npc_codes, np.uint8)
    tile_map[1 : 1 + world_populations] = 1 + population_map
    tile_map[1 + world_populations :] = own + 1 + np.arange(npc_codes)
    return population_map, tile_map


def renumber(observations: dict[str, np.ndarray], population_map: np.ndarray, tile_map: np.ndarray) -> None:
    """Renumber the populations of a batch of observations in place (see module docs)."""
    occupant = observations["tiles"][..., TileChannel.OCCUPANT]
    observations["tiles"][..., TileChannel.OCCUPANT] = tile_map[occupant]
    entities = observations["entities"]
    players = entities[..., EntityColumn.KIND] == EntityKind.PLAYER
    column = entities[..., EntityColumn.POPULATION]
    entities[..., EntityColumn.POPULATION] = np.where(
        players, population_map[np.clip(column, 0, None)], column
    )


def load_entrant(spec: str | Entrant | Policy, layout_for_scripted: ObsLayout | None = None) -> Entrant:
    """An entrant from a checkpoint path (or ``pretrained``), a scripted policy name (``random``,
    ``forager``, ``fighter``, made for the tournament's layout later), a Policy or an Entrant."""
    if isinstance(spec, Entrant):
        return spec
    if isinstance(spec, Policy):
        return Entrant(name=getattr(spec, "name", type(spec).__name__), policy=spec, source="policy")
    if not isinstance(spec, (str, Path)):
        raise TypeError(
            f"an entrant is a checkpoint path, a policy name or a Policy, got {type(spec).__name__}"
        )
    text = str(spec)
    if text in POLICIES:
        return Entrant(name=text, source=text)
    try:
        from neural_mmo.train.checkpoint import SHIPPED, CheckpointError, load_models, resolve
    except ImportError as err:
        raise EntrantError(f"{text}: checkpoints need pip install 'neural-mmo[train]' ({err})") from None
    path = resolve(text)
    if not path.exists() and not Path(text).suffix:
        raise EntrantError(
            f"{text}: no such checkpoint file, and not a scripted policy ({', '.join(POLICIES)})"
        )
    try:
        models, train_config, game = load_models(path)
    except CheckpointError as err:
        raise EntrantError(str(err)) from None
    name = text if text in SHIPPED else _label(path)
    return Entrant(name=name, populations=len(models), game=game, models=models, source=str(path))


def _label(path: Path) -> str:
    """A short name for a checkpoint: its run folder for ``.../RUN/checkpoints/latest.pt``."""
    if path.parent.name == "checkpoints" and path.parent.parent.name:
        return path.parent.parent.name
    return path.stem


def make_scripted(entrant: Entrant, layout: ObsLayout, seed: int) -> None:
    """Build a scripted entrant's policy for the tournament's layout."""
    if entrant.policy is None and entrant.models is None:
        entrant.policy = make_policy(entrant.source, layout, seed)


def unique_names(entrants: list[Entrant]) -> None:
    """Give entrants that share a name a number (``fighter``, ``fighter#2``)."""
    seen: dict[str, int] = {}
    for e in entrants:
        count = seen.get(e.name, 0) + 1
        seen[e.name] = count
        if count > 1:
            e.name = f"{e.name}#{count}"
