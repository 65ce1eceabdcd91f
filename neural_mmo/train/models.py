"""Baseline models: :class:`Base` builds the input and output modules from the layout and leaves
the middle, :meth:`Base.hidden`, to subclasses.

Write your own model by overriding ``hidden()`` only::

    class Wider(Base):
        def __init__(self, layout, hidden=128):
            super().__init__(layout, hidden)
            self.mlp = nn.Linear(self.input.entity_dim, hidden)

        def hidden(self, x, state):
            return torch.relu(self.mlp(x.me)), state

``hidden(x, state)`` gets the :class:`~neural_mmo.train.io.Encoded` observation and, for recurrent
models, the per-agent state; it returns ``([B, hidden] features, new state)``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from neural_mmo.observe.layout import ObsLayout
from neural_mmo.train.io import Encoded, Input, Output

State = Any
"""A model's per-agent recurrent state (a tensor or tuple of tensors with batch first), or None."""


class Base(nn.Module):
    """Input -> ``hidden()`` -> Output. Subclasses implement :meth:`hidden`.

    ``forward(obs, state)`` returns ``(logits per head, value [B], state)``; ``obs`` is a dict of
    tensors with the observation keys (see :func:`~neural_mmo.train.io.to_tensors`).
    """

    recurrent = False

    def __init__(
        self,
        layout: ObsLayout,
        hidden: int = 64,
        tile_dim: int = 16,
        entity_dim: int = 32,
        attributes: str = "sum",
    ):
        super().__init__()
        self.layout = layout
        self.hidden_size = hidden
        self.input = Input(layout, tile_dim=tile_dim, entity_dim=entity_dim, attributes=attributes)
        self.output = Output(layout, hidden, entity_dim)

    def hidden(self, x: Encoded, state: State) -> tuple[torch.Tensor, State]:
        """Features ``[B, hidden]`` from the encoded observation (and the new recurrent state)."""
        raise NotImplementedError(f"{type(self).__name__} must implement hidden(x, state)")

    def initial_state(self, batch: int) -> State:
        """The state of ``batch`` agents that just spawned (None for feed-forward models)."""
        return None

    def forward(
        self, obs: dict[str, torch.Tensor], state: State = None
    ) -> tuple[list[torch.Tensor], torch.Tensor, State]:
        x = self.input(obs)
        h, state = self.hidden(x, state)
        logits, value = self.output(h, x.entities, obs["action_mask"], x.sets)
        return logits, value, state

    def forward_sequence(
        self, obs: dict[str, torch.Tensor], state: State, starts: torch.Tensor
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Logits and values for ``[T, B]`` observations of ``B`` agent slots over ``T`` steps;
        ``state`` is the slots' state before step 0; ``starts[t, b]`` marks a slot whose agent
        spawned at step ``t`` (its state restarts there). Outputs are flattened to ``T * B`` rows."""
        T, B = starts.shape
        tables = self.input.table_views  # [K, ...] world tables: no time axis (WORLD_INDEX has one)
        flat = {k: v if k in tables else v.reshape(T * B, *v.shape[2:]) for k, v in obs.items()}
        if not self.recurrent:
            logits, value, _ = self.forward(flat)
            return logits, value
        x = self.input(flat)
        hs = []
        for t in range(T):
            state = reset_state(state, starts[t], self.initial_state(B))
            h, state = self.hidden(x.rows(slice(t * B, (t + 1) * B)), state)
            hs.append(h)
        logits, value = self.output(torch.cat(hs), x.entities, flat["action_mask"], x.sets)
        return logits, value


def reset_state(state: State, where: torch.Tensor, fresh: State) -> State:
    """``state`` with the rows in ``where`` (bool ``[B]``) replaced by ``fresh``'s."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return torch.where(where.view(-1, *([1] * (state.dim() - 1))), fresh, state)
    return type(state)(reset_state(s, where, f) for s, f in zip(state, fresh))


class Simple(Base):
    """A small convolution over the tile crop plus attention over tiles and entities.

    The convolution has 3x3 kernels with stride 3 over the one-hot tile codes, so it cuts the
    crop into patches (the agent's own patch is the 3x3 square around it); it is computed as a sum
    of embedding lookups (the same linear map as the convolution, without multiplying zeros). One
    attention head whose query comes from the agent's own row pools the patches (with learned
    positions) and the other entities. Features: the agent's row, the pooled vector and every
    patch, through one linear layer. :attr:`attention` keeps the last pass's weights when
    ``keep_attention`` is set.
    """

    patch = 3
    patch_tiles: torch.Tensor
    kernel_offsets: torch.Tensor

    def __init__(self, layout: ObsLayout, hidden: int = 64, **options: Any):
        """``options``: :class:`Base`'s ``tile_dim``, ``entity_dim`` and ``attributes``."""
        super().__init__(layout, hidden, **options)
        entity_dim = self.input.entity_dim
        w, p = layout.window, self.patch
        pad = (-w) % p
        side = w + pad
        self.grid = side // p
        n_patches = self.grid * self.grid
        self.pad = (pad // 2, pad - pad // 2)
        # padded-crop tile index of every (patch, kernel position), row-major
        r = torch.arange(self.grid).repeat_interleave(self.grid)[:, None] * p + torch.arange(
            p
        ).repeat_interleave(p)
        c = torch.arange(self.grid).repeat(self.grid)[:, None] * p + torch.arange(p).repeat(p)
        self.register_buffer("patch_tiles", (r * side + c).flatten(), persistent=False)
        vocab = self.input.tile_vocab + 1  # the last code marks padding
        self.register_buffer(
            "kernel_offsets", torch.arange(p * p).repeat(n_patches) * vocab, persistent=False
        )
        self.kernel = nn.Parameter(torch.randn(p * p * vocab, entity_dim) / p)
        self.kernel_bias = nn.Parameter(torch.zeros(entity_dim))
        self.positions = nn.Parameter(torch.zeros(n_patches, entity_dim))
        self.query = nn.Linear(entity_dim, entity_dim)
        self.from_me = nn.Linear(entity_dim, hidden)
        self.from_pooled = nn.Linear(entity_dim, hidden, bias=False)
        self.from_patches = nn.Linear(entity_dim * n_patches, hidden, bias=False)
        self.keep_attention = False
        self.attention: torch.Tensor | None = None
        """``[B, n_patches + n_entities - 1 (+ item rows)]`` weights of the last pass: patches
        row-major, then the entity rows 1.. (the agent's own row is the query), then any item rows."""

    def patch_tokens(self, codes: torch.Tensor) -> torch.Tensor:
        """``[B, n_patches, D]`` from tile codes ``[B, W, W]``."""
        if self.pad[1]:
            codes = F.pad(codes, (*self.pad, *self.pad), value=self.input.tile_vocab)
        index = codes.flatten(1)[:, self.patch_tiles] + self.kernel_offsets
        k = self.patch * self.patch
        tokens = _SumOfRows.apply(index.reshape(-1, k), self.kernel)
        tokens = tokens.view(codes.shape[0], -1, self.kernel.shape[1])
        return torch.relu(tokens + self.kernel_bias) + self.positions

    def hidden(self, x: Encoded, state: State) -> tuple[torch.Tensor, State]:
        patches = self.patch_tokens(x.tile_codes)  # [B, P, D]
        own = [x.sets[k] for k in x.set_masks]  # the agent's own sets (items), not world tables
        tokens = torch.cat([patches, x.entities[:, 1:], *own], dim=1)
        valid = torch.cat(
            [F.pad(x.entity_mask[:, 1:], (patches.shape[1], 0), value=True), *x.set_masks.values()], dim=1
        )
        query = self.query(x.me).unsqueeze(2)  # [B, D, 1]
        scores = torch.bmm(tokens, query).squeeze(2) / math.sqrt(tokens.shape[-1])
        weights = torch.softmax(scores.masked_fill(~valid, -1e9), dim=1)
        if self.keep_attention:
            self.attention = weights.detach()
        pooled = torch.bmm(weights.unsqueeze(1), tokens).squeeze(1)
        h = self.from_me(x.me) + self.from_pooled(pooled) + self.from_patches(patches.flatten(1))
        return torch.relu(h), state


class _SumOfRows(torch.autograd.Function):
    """``out[i] = sum_k weight[index[i, k]]`` (an embedding bag), with a backward pass that adds
    the gradient into the table once per column of ``index`` (no sort: the table is small)."""

    @staticmethod
    def forward(ctx: Any, index: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(index)
        ctx.table_shape = weight.shape
        return F.embedding_bag(index, weight, mode="sum")

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        (index,) = ctx.saved_tensors
        table = torch.zeros(ctx.table_shape, dtype=grad.dtype, device=grad.device)
        for k in range(index.shape[1]):
            table.index_add_(0, index[:, k], grad)
        return None, table


class Recurrent(Simple):
    """:class:`Simple` followed by an LSTM cell; the state lives per agent slot and restarts when
    a new agent spawns in the slot."""

    recurrent = True

    def __init__(self, layout: ObsLayout, hidden: int = 64, **options: Any):
        super().__init__(layout, hidden, **options)
        self.cell = nn.LSTMCell(hidden, hidden)

    def initial_state(self, batch: int) -> State:
        zeros = torch.zeros(batch, self.hidden_size, device=self.positions.device)
        return (zeros, zeros.clone())

    def hidden(self, x: Encoded, state: State) -> tuple[torch.Tensor, State]:
        h, _ = super().hidden(x, None)
        if state is None:
            state = self.initial_state(h.shape[0])
        h, c = self.cell(h, state)
        return h, (h, c)


MODELS: dict[str, type[Base]] = {"simple": Simple, "recurrent": Recurrent}


def make_model(name: str, layout: ObsLayout, hidden: int = 64, attributes: str = "sum") -> Base:
    """A baseline model by name (``simple`` or ``recurrent``); ``attributes``: how its input makes
    entity vectors (:data:`~neural_mmo.train.io.ATTRIBUTES`)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name](layout, hidden=hidden, attributes=attributes)
