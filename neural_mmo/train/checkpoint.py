"""Checkpoints: the weights of every population's model, the optimizers, the counters, the random
states, the training config and the game config, in one ``torch.save`` file."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neural_mmo.agents.base import Policy
from neural_mmo.config import Config
from neural_mmo.observe.layout import ObsLayout
from neural_mmo.train.config import TrainConfig
from neural_mmo.train.models import Base, make_model, reset_state
from neural_mmo.train.ppo import act, populations_of

FORMAT = "neural-mmo-checkpoint"
VERSION = 1
PRETRAINED = Path(__file__).parent / "pretrained" / "small.pt"
"""A Simple model trained on the small preset with this package's trainer (see docs/training.md);
``pretrained`` names it wherever a checkpoint path is asked for."""


class CheckpointError(ValueError):
    """A file that is not a readable checkpoint of this version."""


def game_config_from_toml(text: str) -> Config:
    """A :class:`Config` from ``Config.to_toml()`` text."""
    data = tomllib.loads(text)
    return Config().override({f"{group}.{k}": v for group, table in data.items() for k, v in table.items()})


def save_checkpoint(path: str | Path, *, train_config: TrainConfig, game_config: Config, models: list[Base],
                    optimizers: Sequence[torch.optim.Optimizer] | None = None, iteration: int = 0,
                    agent_steps: int = 0, generator: np.random.Generator | None = None,
                    wall_seconds: float = 0.0) -> Path:  # fmt: skip
    """Write a checkpoint atomically (a temporary file renamed over ``path``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "train_config": train_config.to_dict(),
        "game_config": game_config.to_toml(),
        "models": [m.state_dict() for m in models],
        "optimizers": [o.state_dict() for o in optimizers] if optimizers else None,
        "iteration": iteration,
        "agent_steps": agent_steps,
        "wall_seconds": wall_seconds,
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": generator.bit_generator.state if generator is not None else None,
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def resolve(path: str | Path) -> Path:
    """``path``, or the shipped checkpoint for the name ``pretrained``."""
    return PRETRAINED if str(path) == "pretrained" else Path(path)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents, checked; :class:`CheckpointError` otherwise."""
    path = resolve(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # torch raises several types for foreign or damaged files
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a {FORMAT} file")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {payload.get('version')}, this reads {VERSION}")
    return payload


def export_weights(source: str | Path, target: str | Path) -> Path:
    """A copy of a checkpoint with the weights and configs only (no optimizer or random states):
    what a policy needs to act, a third of the size."""
    payload = read_checkpoint(source)
    payload.update(optimizers=None, numpy_rng=None)
    payload["torch_rng"] = torch.get_rng_state()
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, target)
    return target


def load_models(path: str | Path) -> tuple[list[Base], TrainConfig, Config]:
    """The models of a checkpoint (evaluation mode), its training config and its game config."""
    payload = read_checkpoint(path)
    train_config = TrainConfig.from_dict(payload["train_config"])
    game = game_config_from_toml(payload["game_config"])
    layout = ObsLayout(game)
    models = []
    for state in payload["models"]:
        model = make_model(train_config.model, layout, hidden=train_config.hidden)
        model.load_state_dict(state)
        model.eval()
        models.append(model)
    return models, train_config, game


class TrainedPolicy(Policy):
    """A checkpoint's models as a batched :class:`~neural_mmo.agents.base.Policy` for the scripted
    tools (``run``, ``eval``, ``serve``). Rows are agent slots; recurrent state is kept per row
    and restarted by :meth:`restart`. ``greedy`` takes each head's most likely value."""

    name = "trained"

    def __init__(
        self, path: str | Path, layout: ObsLayout | None = None, seed: int = 0, greedy: bool = False
    ):
        self.models, self.train_config, self.game_config = load_models(path)
        layout = layout or self.models[0].layout
        if layout.bytes_per_agent != self.models[0].layout.bytes_per_agent or [
            h.size for h in layout.heads
        ] != [h.size for h in self.models[0].layout.heads]:
            raise ValueError(f"{path}: the checkpoint was trained on different observations or actions")
        super().__init__(layout, seed)
        self.greedy = greedy
        self.generator = torch.Generator().manual_seed(seed)
        self.states: list[Any] | None = None
        self._n = 0  # the slot count the states were made for

    def restart(self, rows: np.ndarray) -> None:
        """Forget the recurrent state of ``rows`` (new agents there)."""
        if self.states is None:
            return
        where = torch.zeros(self._n, dtype=torch.bool)
        where[torch.as_tensor(rows, dtype=torch.long)] = True
        self.states = [reset_state(s, where, m.initial_state(self._n)) if s is not None else None
                       for s, m in zip(self.states, self.models)]  # fmt: skip

    def act(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        n = observations["action_mask"].shape[0]
        if self.states is None or self._n != n:
            self._n = n
            self.states = [m.initial_state(n) if m.recurrent else None for m in self.models]
        rows = np.flatnonzero(observations["entity_mask"][:, 0])
        out = np.zeros((n, len(self.layout.heads)), np.int32)
        if rows.size:
            population = populations_of(observations, rows) % len(self.models)
            actions, _, _ = act(self.models, observations, rows, population, self.states, greedy=self.greedy)
            out[rows] = actions
        return out
