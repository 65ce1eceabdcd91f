"""The training run's settings: one dataclass, every field documented, overridable from a TOML
file and from the command line (``neural-mmo train --set lr=1e-3`` or ``--lr 1e-3``)."""

from __future__ import annotations

import math
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from neural_mmo.config import PRESETS, ConfigError, load_toml, read_toml

ATTRIBUTES = ("sum", "attention")
"""How the model's input makes an entity row's vector (``neural_mmo.train.io.ATTRIBUTES``)."""
BACKENDS = ("local", "ray")
"""Where the worlds step: ``local`` (in the trainer's process, or its ``workers`` processes) or
``ray`` (``env_workers`` Ray actors; :mod:`neural_mmo.train.distributed`)."""


def _f(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


@dataclass
class TrainConfig:
    """Settings of ``neural-mmo train`` (see :mod:`neural_mmo.train.ppo` for what they do)."""

    # --- environment
    preset: str = _f("small", "game preset: small, medium or large")
    game: dict = field(default_factory=dict, metadata={"doc": "game config overrides, e.g. "
                       "{'resources.food_regrow_prob': 0.05} (TOML: a [game] table)"})  # fmt: skip
    worlds: int = _f(8, "worlds stepped together")
    workers: int = _f(0, "worker processes for the environment (0: in this process)")
    populations: int = _f(1, "policies with unshared weights; agents of population p use policy p")
    seed: int = _f(0, "seed of the worlds, the weights and the sampling")
    # --- model
    model: str = _f("simple", "model: simple or recurrent")
    hidden: int = _f(64, "width of the model's hidden vector")
    attributes: str = _f(
        "sum",
        "how an entity row's attributes become its vector: sum (a learned vector per attribute, "
        "weighted by its value, summed) or attention (attention over the attributes; docs/training.md)",
    )
    # --- PPO
    total_steps: int = _f(20_000_000, "agent-steps to train for (living agents x ticks)")
    horizon: int = _f(64, "ticks per rollout (per iteration)")
    epochs: int = _f(1, "passes over each rollout")
    minibatch: int = _f(2048, "samples per gradient step")
    lr: float = _f(2e-3, "Adam learning rate at the start (annealed linearly to 0)")
    anneal_lr: bool = _f(True, "anneal the learning rate linearly to 0 over total_steps")
    gamma: float = _f(0.99, "discount")
    gae_lambda: float = _f(0.95, "GAE lambda")
    clip: float = _f(0.2, "PPO ratio clip (also clips the value change)")
    value_coef: float = _f(0.5, "weight of the value loss")
    entropy_coef: float = _f(0.01, "weight of the entropy bonus")
    max_grad_norm: float = _f(0.5, "gradient norm clip")
    death_penalty: float = _f(-1.0, "reward on the tick an agent dies")
    # --- run
    threads: int | str = _f(
        "auto",
        "torch threads; auto (or 0): the cores free to this process, less its "
        "environment workers (see docs/training.md)",
    )
    device: str = _f(
        "auto", "where the models, rollouts and updates run: auto (CUDA when available), cpu, cuda or cuda:N"
    )
    backend: str = _f(
        "local", "where the worlds step: local (this machine) or ray (Ray actors; docs/distributed.md)"
    )
    address: str = _f(
        "",
        "ray backend: the cluster to join (auto: the running one; host:port); empty: a Ray on this machine",
    )
    env_workers: int = _f(0, "ray backend: environment actors (0: one per world, up to the cluster's CPUs)")
    out: str = _f("runs/train", "run directory: TensorBoard logs, checkpoints, config")
    checkpoint_every: int = _f(20, "iterations between checkpoints (and at the end)")
    log_every: int = _f(1, "iterations between TensorBoard writes")

    def __post_init__(self) -> None:
        if type(self.threads) is int and self.threads == 0:
            self.threads = "auto"
        if isinstance(self.game, dict):  # TOML dotted keys arrive nested: {"resources": {"x": 1}}
            self.game = _flatten(self.game)
        for f in fields(self):  # ints are fine where a float is wanted
            value = getattr(self, f.name)
            if isinstance(f.default, float) and isinstance(value, int) and not isinstance(value, bool):
                setattr(self, f.name, float(value))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`~neural_mmo.config.ConfigError` (a ValueError) for the first field of the
        wrong type or out of range, naming it."""
        for f in fields(self):
            if f.name == "threads":
                continue  # 'auto' or an int: checked below
            kind = dict if f.name == "game" else type(f.default)
            value = getattr(self, f.name)
            if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
                raise ConfigError(
                    f"train config: {f.name}: {value!r} has type {type(value).__name__}; "
                    f"expected {kind.__name__}"
                )
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"train config: {f.name}: {value!r} is not finite")
        if not 0 <= self.seed < 2**64:
            raise ConfigError(f"train config: seed must be in [0, 2**64), got {self.seed!r}")
        if self.preset not in PRESETS:
            raise ConfigError(f"train config: preset: {self.preset!r} is not one of {', '.join(PRESETS)}")
        positive = ("worlds", "populations", "total_steps", "horizon", "epochs", "minibatch", "hidden",
                    "checkpoint_every", "log_every")  # fmt: skip
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"train config: {name} must be a positive int, got {value!r}")
        if self.threads != "auto" and (
            isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1
        ):
            raise ValueError(
                f"train config: threads must be 'auto', 0 (auto) or a positive int, got {self.threads!r}"
            )
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 0:
            raise ValueError(f"train config: workers must be an int >= 0, got {self.workers!r}")
        for name in ("gamma", "gae_lambda"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"train config: {name} must be in [0, 1], got {getattr(self, name)!r}")
        for name in ("lr", "clip", "max_grad_norm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"train config: {name} must be > 0, got {getattr(self, name)!r}")
        if not isinstance(self.game, dict):
            raise ValueError(f"train config: game must be a table of overrides, got {self.game!r}")
        if not re.fullmatch(r"auto|cpu|cuda(:[0-9]+)?", self.device):
            raise ConfigError(
                f"train config: device: {self.device!r} is not one of auto, cpu, cuda or cuda:N "
                "(N: a GPU index)"
            )
        if self.attributes not in ATTRIBUTES:
            raise ConfigError(
                f"train config: attributes: {self.attributes!r} is not one of {', '.join(ATTRIBUTES)}"
            )
        if self.backend not in BACKENDS:
            raise ConfigError(f"train config: backend: {self.backend!r} is not one of {', '.join(BACKENDS)}")
        if self.env_workers < 0:
            raise ValueError(f"train config: env_workers must be an int >= 0, got {self.env_workers!r}")
        if self.backend == "local" and (self.env_workers or self.address):
            name = "env_workers" if self.env_workers else "address"
            raise ConfigError(
                f"train config: {name} is a setting of the ray backend (backend = 'ray'); the local "
                "backend's environment processes are set by workers"
            )
        if self.backend == "ray" and self.workers:
            raise ConfigError(
                "train config: workers sets the local backend's processes; the ray backend's "
                "environment actors are set by env_workers"
            )

    # ------------------------------------------------------------------ conversions

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"train config: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**values)

    @classmethod
    def from_toml(cls, path: str | Path) -> TrainConfig:
        return cls.from_dict(read_toml(path, "training settings"))

    def override(self, pairs: dict[str, str | Any]) -> TrainConfig:
        """A copy with fields set from ``{name: value}``; string values are parsed as TOML values
        (so ``"1e-3"``, ``"true"``, ``"'medium'"`` work) or taken as plain strings."""
        values = self.to_dict()
        for key, raw in pairs.items():
            if key.startswith("game."):
                values["game"] = {**values["game"], key[5:]: parse_value(raw)}
                continue
            spec = next((f for f in fields(self) if f.name == key), None)
            if spec is None:
                raise ValueError(f"train config: unknown field {key!r}")
            value = parse_value(raw) if isinstance(raw, str) else raw
            if spec.type in ("float", float) and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if spec.type in ("str", str) and not isinstance(value, str):
                value = str(raw)
            values[key] = value
        return TrainConfig.from_dict(values)

    @staticmethod
    def docs() -> dict[str, str]:
        """Field name -> one-line description (CLI help, docs)."""
        return {f.name: f.metadata.get("doc", "") for f in fields(TrainConfig)}

    @staticmethod
    def defaults() -> dict[str, Any]:
        out = {}
        for f in fields(TrainConfig):
            if f.default is not MISSING:
                out[f.name] = f.default
            else:
                assert f.default_factory is not MISSING, f.name
                out[f.name] = f.default_factory()
        return out


def _flatten(table: dict, prefix: str = "") -> dict:
    out: dict = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def parse_value(raw: Any) -> Any:
    """A TOML scalar from a string (``1e-3`` -> 0.001, ``true`` -> True), else the string."""
    if not isinstance(raw, str):
        return raw
    try:
        return load_toml(f"v = {raw}", "value")["v"]
    except ConfigError:
        return raw
