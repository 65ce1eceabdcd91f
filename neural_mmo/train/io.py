"""Input and output modules generated from the observation layout and the action heads.

Nothing here names a tile channel, an entity column or a head: the modules read their sizes from
an :class:`~neural_mmo.observe.layout.ObsLayout`, so a new entity attribute, tile channel or action
head in the game changes the modules' shapes and needs no model code.

* :class:`Input` turns one batch of observations into embeddings: every tile of the crop gets one
  categorical code from its channels (each channel is categorical) and a learned embedding; every
  entity row becomes a vector from its attributes: by default each attribute contributes a learned
  vector weighted by its value, on a linear and a logarithmic scale set by the layout's bounds,
  summed (``attributes="sum"``); with ``attributes="attention"`` the row's attributes become
  tokens and the row's vector is attention over them (:class:`AttributeAttention`).
* :class:`Output` turns a hidden vector into one vector of logits per action head, with the action
  mask applied (a masked value gets probability exactly 0). A plain head is a linear layer; a head
  whose values name entity rows (``HeadSpec.entity_blocks``, e.g. ``attack``, ``give``) scores each
  row by attention: a query per block from the hidden vector, dotted with the entity embeddings;
  a head whose values name rows of another set (``HeadSpec.rows_of``: ``use``, ``destroy``,
  ``sell`` name ``items`` rows) is scored the same way over that set's row embeddings. The
  ``buy`` head names rows of the market, a *world table*: published once per world, in no agent's
  observation. A batch carries each world table its rows need once (``obs["market"]``: ``[K,
  rows, columns]``) and, per row, which of them it sees (``obs[WORLD_INDEX]``: long ``[B]``);
  :func:`batch_of` builds such batches from a VecEnv's buffers. The table's rows are embedded
  once per world and gathered per agent, and ``buy`` is scored by attention over them. Without
  the table in the batch (a caller that does not pass it), its rows embed as zeros: the head is
  still masked exactly, but cannot tell rows apart.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

from neural_mmo.envs.vector import WORLD_INDEX
from neural_mmo.observe.layout import ObsLayout

MASKED = -1e9
"""Logit given to masked action values: its softmax probability is exactly 0 in float32."""


def batch_of(
    obs: dict[str, np.ndarray], rows: np.ndarray, tables: Collection[str], device: torch.device | str = "cpu"
) -> dict[str, torch.Tensor]:
    """The model batch of observation ``rows``: every per-agent array's rows, and, when ``obs``
    has world tables (``tables``: their keys, ``[W, ...]``) with :data:`WORLD_INDEX` (``[n]``:
    each slot's world), the tables those rows' worlds publish (:func:`tables_for`)."""
    batch = {
        k: torch.from_numpy(np.ascontiguousarray(v[rows])).to(device)
        for k, v in obs.items()
        if k not in tables and k != WORLD_INDEX
    }
    if WORLD_INDEX in obs:
        published = {k: torch.from_numpy(obs[k]) for k in tables if k in obs}
        batch.update(tables_for(published, obs[WORLD_INDEX][rows], device))
    return batch


def tables_for(
    tables: dict[str, torch.Tensor], rows: np.ndarray, device: torch.device | str = "cpu"
) -> dict[str, torch.Tensor]:
    """The rows ``rows`` (any shape) of world tables, each distinct row once, with each entry's
    index among them (:data:`WORLD_INDEX`, ``rows``' shape): what :class:`Input` reads. Empty
    without tables."""
    if not tables:
        return {}
    used, index = np.unique(rows, return_inverse=True)
    out = {k: v[torch.from_numpy(used).to(v.device)].to(device) for k, v in tables.items()}
    out[WORLD_INDEX] = torch.from_numpy(index.reshape(np.shape(rows)).astype(np.int64)).to(device)
    return out


class Encoded:
    """What :class:`Input` makes of a batch of ``B`` observations.

    * ``tile_codes`` long ``[B, W, W]``: each tile's channels combined into one categorical code
      (``sum(value_c * stride_c)``; :attr:`Input.tile_vocab` codes in all);
    * ``tiles`` float ``[B, C, W, W]``: a learned embedding of every tile, channels first
      (computed on first use: models that read ``tile_codes`` directly never pay for it);
    * ``entities`` float ``[B, E, D]``: one embedding per entity row;
    * ``entity_mask`` bool ``[B, E]``: rows that hold an entity;
    * ``me`` float ``[B, D]``: the observing agent's own row (row 0 of ``entities``), which also
      carries the agent's own vectors (``gold``, ``professions`` ...) where the layout has them;

    * ``sets`` ``{key: float [B, R, D]}``: one embedding per row of each other set of rows the
      layout has (``items``: the agent's equipment and inventory; ``market``: the world table,
      each agent's world's), and ``set_masks`` ``{key: bool [B, R]}`` the rows of the agent's own
      sets that hold something (empty without such systems; none for world tables).
    """

    __slots__ = ("tile_codes", "entities", "entity_mask", "me", "sets", "set_masks", "_embed", "_tiles")

    def __init__(
        self, tile_codes: torch.Tensor, entities: torch.Tensor, entity_mask: torch.Tensor, embed: nn.Module,
        sets: dict[str, torch.Tensor] | None = None, set_masks: dict[str, torch.Tensor] | None = None,
    ):  # fmt: skip
        self.tile_codes: torch.Tensor = tile_codes
        self.entities: torch.Tensor = entities
        self.entity_mask: torch.Tensor = entity_mask
        self.me: torch.Tensor = entities[:, 0]
        self.sets: dict[str, torch.Tensor] = sets or {}
        self.set_masks: dict[str, torch.Tensor] = set_masks or {}
        self._embed = embed
        self._tiles: torch.Tensor | None = None

    @property
    def tiles(self) -> torch.Tensor:
        if self._tiles is None:
            self._tiles = self._embed(self.tile_codes).permute(0, 3, 1, 2)
        return self._tiles

    def rows(self, index: slice | torch.Tensor) -> Encoded:
        """The batch rows ``index`` (a slice or index tensor)."""
        return Encoded(
            self.tile_codes[index], self.entities[index], self.entity_mask[index], self._embed,
            {k: v[index] for k, v in self.sets.items()}, {k: v[index] for k, v in self.set_masks.items()},
        )  # fmt: skip


def to_tensors(observations: dict[str, np.ndarray], device: torch.device | str = "cpu") -> dict:
    """A batch of numpy observations as tensors (no copy on CPU where the dtype allows)."""
    return {k: torch.as_tensor(v, device=device) for k, v in observations.items()}


def _scales(low: np.ndarray, high: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Per attribute, the factors that put its values on a linear and a log scale within about
    [-1, 1], from the layout's bounds."""
    bound = np.maximum(np.abs(low), np.abs(high)).clip(min=1.0)
    return torch.tensor(1.0 / bound, dtype=torch.float32), torch.tensor(
        1.0 / np.log1p(bound), dtype=torch.float32
    )


def _signed_log(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.log1p(x.abs())


class Attributes(nn.Module):
    """Rows of numeric attributes -> one vector each: a learned vector per attribute and scale
    (linear and logarithmic, set by the layout's bounds), weighted by the value, summed."""

    linear_scale: torch.Tensor
    log_scale: torch.Tensor

    def __init__(self, low: np.ndarray, high: np.ndarray, dim: int):
        super().__init__()
        linear, log = _scales(low, high)
        self.register_buffer("linear_scale", linear)
        self.register_buffer("log_scale", log)
        self.linear = nn.Linear(len(linear), dim)
        self.log = nn.Linear(len(linear), dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x * self.linear_scale) + self.log(_signed_log(x) * self.log_scale)


ATTRIBUTES = ("sum", "attention")
"""How :class:`Input` makes an entity row's vector from its attributes."""


class AttributeAttention(nn.Module):
    """Rows of numeric attributes -> one vector each, by attention over the attributes.

    Each attribute ``a`` of a row is a token ``t_a = e_a + x_a u_a + l_a w_a``: a learned vector
    naming the attribute plus learned vectors weighted by its value on the linear and the
    logarithmic scale (``x_a``, ``l_a``: the layout's bounds, as :class:`Attributes`). Each of
    ``heads`` heads (one by default) scores the row's tokens with a learned key (``k_h . t_a``),
    takes the softmax over the attributes and sums the tokens' values (a learned linear map per
    head, ``dim / heads`` wide) by those weights; the heads' sums, side by side, are the row's
    vector. How much an attribute counts thus depends on its value and on the others' scores,
    where :class:`Attributes` adds every attribute with a fixed weight.

    The tokens are linear in the values, so the scores and values are computed from the products
    of the key and value maps with ``e``, ``u`` and ``w`` (``[attributes, heads]`` and
    ``[attributes, dim]``) and a row's tokens are never built: per head, a row costs one matrix
    product three times the size of :class:`Attributes`' two, plus a softmax over its attributes
    (training on the small preset runs about 30% slower with one head).
    """

    linear_scale: torch.Tensor
    log_scale: torch.Tensor

    def __init__(self, low: np.ndarray, high: np.ndarray, dim: int, heads: int = 1):
        super().__init__()
        if dim % heads:
            raise ValueError(f"attribute attention: dim {dim} is not a multiple of heads {heads}")
        linear, log = _scales(low, high)
        self.register_buffer("linear_scale", linear)
        self.register_buffer("log_scale", log)
        n = len(linear)
        self.tokens = nn.Parameter(torch.randn(3, n, dim) / math.sqrt(dim))
        """``e``, ``u`` and ``w`` of every attribute: its name and its two value directions."""
        self.key = nn.Linear(dim, heads, bias=False)
        self.value = nn.Linear(dim, dim)
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` float ``[..., n attributes]`` -> ``[..., dim]``."""
        # a token is parts . (e, u, w): parts [..., 3, n] are 1, the linear and the log value
        parts = torch.stack([torch.ones_like(x), x * self.linear_scale, _signed_log(x) * self.log_scale], -2)
        keys = self.key(self.tokens)  # [3, n, heads]: each part's share of each token's score
        values = (self.tokens @ self.value.weight.T).unflatten(-1, (self.heads, -1))  # [3, n, heads, d]
        out = []
        for h in range(self.heads):  # one plain matrix product per head
            weights = torch.softmax((parts * keys[..., h]).sum(-2), dim=-1)  # [..., n]
            weighted = (parts * weights.unsqueeze(-2)).flatten(-2)  # [..., 3n]
            out.append(weighted @ values[..., h, :].flatten(0, 1))
        return torch.cat(out, dim=-1) + self.value.bias


BUILT_IN = frozenset({"tiles", "entities", "entity_mask", "action_mask"})
"""Observation keys :class:`Input` reads by name; every other key is a system view, read by shape."""


class Input(nn.Module):
    """Encodes tiles and entities: ``tile_dim`` per tile, ``entity_dim`` per entity.

    System views are read by their shape, not their name: a view whose rows extend the entity
    rows (``ObsField.rows_of``, e.g. ``equipment``) adds its columns to the entity attributes; a
    vector (``gold``, ``professions`` ...) is embedded (:class:`Attributes`) and added to the
    agent's own row; any other set of rows (``items``) gets an embedding per row, in
    ``Encoded.sets``.

    ``attributes`` (:data:`ATTRIBUTES`) picks how an entity row's attributes become its vector:
    ``"sum"``, the learned vectors weighted by the values and summed, or ``"attention"``
    (:class:`AttributeAttention`).
    """

    tile_strides: torch.Tensor
    linear_scale: torch.Tensor
    log_scale: torch.Tensor

    def __init__(self, layout: ObsLayout, tile_dim: int = 16, entity_dim: int = 32, attributes: str = "sum"):
        super().__init__()
        if attributes not in ATTRIBUTES:
            raise ValueError(f"attributes: {attributes!r} is not one of {', '.join(ATTRIBUTES)}")
        self.attributes = attributes
        tiles = next(f for f in layout.fields if f.key == "tiles")
        entities = next(f for f in layout.fields if f.key == "entities")
        views = [f for f in layout.fields if f.key not in BUILT_IN]
        self.entity_views = [f.key for f in views if f.rows_of == "entities"]
        self.vector_views = [f.key for f in views if len(f.shape) == 1]
        self.set_views = [f.key for f in views if len(f.shape) == 2 and f.key not in self.entity_views]
        self.table_views = [f.key for f in layout.world_fields]
        """World tables (``market``): rows embedded once per world, then gathered per agent."""
        self.window = layout.window
        # every tile channel is categorical, with as many values as the layout's highest + 1;
        # the channels combine into one code (mixed radix)
        vocab = tiles.high.reshape(-1, tiles.shape[-1]).max(axis=0).astype(np.int64) + 1
        strides = np.concatenate([[1], np.cumprod(vocab)[:-1]])
        self.register_buffer("tile_strides", torch.tensor(strides, dtype=torch.long))
        self.tile_vocab = int(np.prod(vocab))
        self.tile_embedding = nn.Embedding(self.tile_vocab, tile_dim)
        self.tile_dim = tile_dim
        # each attribute on a linear and a log scale, both set by the layout's bounds (row 0 holds
        # every column's bounds): a learned vector per attribute and scale, weighted by the value
        fields = {f.key: f for f in layout.fields}
        low = np.concatenate([entities.low[0], *(fields[k].low[0] for k in self.entity_views)])
        high = np.concatenate([entities.high[0], *(fields[k].high[0] for k in self.entity_views)])
        if attributes == "attention":
            self.attend_attributes = AttributeAttention(low, high, entity_dim)
        else:
            linear, log = _scales(low, high)
            self.register_buffer("linear_scale", linear)
            self.register_buffer("log_scale", log)
            self.linear_attributes = nn.Linear(len(linear), entity_dim)
            self.log_attributes = nn.Linear(len(linear), entity_dim, bias=False)
        self.entity_dim = entity_dim
        if self.vector_views:
            self.own = Attributes(
                np.concatenate([fields[k].low for k in self.vector_views]),
                np.concatenate([fields[k].high for k in self.vector_views]), entity_dim,
            )  # fmt: skip
        fields.update({f.key: f for f in layout.world_fields})
        self.sets = nn.ModuleList(
            [
                Attributes(fields[k].low[0], fields[k].high[0], entity_dim)
                for k in self.set_views + self.table_views
            ]
        )
        """One encoder per key of :attr:`set_views`, then of :attr:`table_views` (a list: ``items``
        cannot name a ModuleDict entry)."""
        self.table_shapes = {k: fields[k].shape for k in self.table_views}

    def forward(self, obs: dict[str, torch.Tensor]) -> Encoded:
        codes = (obs["tiles"].long() * self.tile_strides).sum(-1)  # [B, W, W]
        x = torch.cat([obs[k].float() for k in ("entities", *self.entity_views)], dim=-1)  # [B, E, columns]
        if self.attributes == "attention":
            entities = self.attend_attributes(x)
        else:
            logx = _signed_log(x) * self.log_scale
            entities = self.linear_attributes(x * self.linear_scale) + self.log_attributes(logx)
        if self.vector_views:
            own = self.own(torch.cat([obs[k].float() for k in self.vector_views], dim=-1))
            entities = torch.cat([entities[:, :1] + own[:, None], entities[:, 1:]], dim=1)
        sets = {k: torch.relu(module(obs[k].float())) for k, module in zip(self.set_views, self.sets)}
        masks = {k: obs[k].abs().sum(-1) > 0 for k in self.set_views}
        for k, module in zip(self.table_views, self.sets[len(self.set_views) :]):
            if k in obs:  # [K, rows, D] once per world, then each batch row's world
                sets[k] = torch.relu(module(obs[k].float()))[obs[WORLD_INDEX]]
            else:
                sets[k] = entities.new_zeros((entities.shape[0], self.table_shapes[k][0], self.entity_dim))
        return Encoded(
            codes, torch.relu(entities), obs["entity_mask"].bool(), self.tile_embedding, sets, masks
        )


class Output(nn.Module):
    """Logits of every action head from a hidden vector ``[B, hidden]`` and the entity embeddings."""

    def __init__(self, layout: ObsLayout, hidden: int, entity_dim: int):
        super().__init__()
        self.n_entities = layout.n_entities
        self.sizes = [h.size for h in layout.heads]
        self.offsets = [int(o) for o in layout.action_offsets]
        self.entity_blocks = [h.entity_blocks for h in layout.heads]
        sets = {f.key for f in layout.fields if f.key not in BUILT_IN and len(f.shape) == 2}
        sets |= {f.key for f in layout.world_fields}
        self.row_heads = [
            (h.rows_of, h.row_offset, h.size - 1) if h.rows_of in sets else None for h in layout.heads
        ]
        """Per head, ``(set key, first row, rows)`` when its values name rows of a set the
        model embeds (``use``, ``destroy``, ``give``, ``sell`` name rows of ``items``, ``buy``
        rows of ``market``); else None."""
        heads = []
        for h, rows in zip(layout.heads, self.row_heads):
            if h.entity_blocks:
                if h.size != 1 + h.entity_blocks * self.n_entities:
                    raise ValueError(f"head {h.name}: size {h.size} is not 1 + blocks x n_entities")
                # value 0 (the no-op) from the hidden vector; one query per block of entity rows
                heads.append(nn.Linear(hidden, 1 + h.entity_blocks * entity_dim))
            elif rows is not None:
                heads.append(nn.Linear(hidden, 1 + entity_dim))  # one query, dotted with every row
            else:
                heads.append(nn.Linear(hidden, h.size))
        self.heads = nn.ModuleList(heads)
        self.entity_dim = entity_dim
        self.value = nn.Linear(hidden, 1)

    def forward(
        self, hidden: torch.Tensor, entities: torch.Tensor, action_mask: torch.Tensor,
        sets: dict[str, torch.Tensor] | None = None,
    ) -> tuple[list[torch.Tensor], torch.Tensor]:  # fmt: skip
        """``(logits per head [B, size], value [B])`` with masked values at :data:`MASKED`
        (``sets``: ``Encoded.sets``, for heads that name rows of them)."""
        allowed = action_mask.bool()
        logits = []
        heads = zip(self.heads, self.entity_blocks, self.row_heads, self.offsets, self.sizes)
        for head, blocks, rows, offset, size in heads:
            out = head(hidden)
            if blocks:
                out = self._attend(out, blocks, entities)
            elif rows is not None:
                key, first, n = rows
                out = self._attend(out, 1, sets[key][:, first : first + n])  # type: ignore[index]
            logits.append(out.masked_fill(~allowed[:, offset : offset + size], MASKED))
        return logits, self.value(hidden).squeeze(-1)

    def _attend(self, out: torch.Tensor, blocks: int, rows: torch.Tensor) -> torch.Tensor:
        """The no-op's logit, then one query per block dotted with every row's embedding."""
        queries = out[:, 1:].reshape(-1, blocks, self.entity_dim)
        scores = torch.einsum("bkd,bed->bke", queries, rows) / math.sqrt(self.entity_dim)
        return torch.cat([out[:, :1], scores.reshape(out.shape[0], -1)], dim=1)


def sample(
    logits: list[torch.Tensor], greedy: bool = False, generator: torch.Generator | None = None
) -> torch.Tensor:
    """One value per head, ``int64 [B, n_heads]``: drawn from the softmax (or its mode), with
    torch's global random state or, when given, ``generator`` (a CPU generator; its draws are moved
    to the logits' device).

    Inverse-CDF sampling: the count of cumulative probabilities below ``u * total`` (``u`` uniform
    on [0, 1)). A masked value has probability exactly 0, so its cumulative sum equals its
    predecessor's and it is never the first one to reach ``u * total``.
    """
    picks = []
    for lg in logits:
        if greedy:
            picks.append(lg.argmax(dim=1))
            continue
        cdf = torch.softmax(lg, dim=1).cumsum(dim=1)
        if generator is None:
            u = torch.rand(lg.shape[0], 1, device=lg.device)
        else:
            u = torch.rand(lg.shape[0], 1, generator=generator).to(lg.device)
        u = u * cdf[:, -1:]
        picks.append((cdf <= u).sum(dim=1))
    return torch.stack(picks, dim=1)


def log_prob_entropy(logits: list[torch.Tensor], actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Joint log-probability of ``actions`` (heads independent) and the summed entropy, ``[B]`` each."""
    log_prob = torch.zeros(actions.shape[0], device=actions.device)
    entropy = torch.zeros(actions.shape[0], device=actions.device)
    for h, lg in enumerate(logits):
        dist = Categorical(logits=lg)
        log_prob = log_prob + dist.log_prob(actions[:, h])
        entropy = entropy + dist.entropy()
    return log_prob, entropy
