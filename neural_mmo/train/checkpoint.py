"""Checkpoints: the weights of every population's model, the optimizers, the counters, the random
states, the training config and the game config, in one ``torch.save`` file.

A checkpoint holds tensors and plain data only (dicts, lists, strings, numbers), so it is read with
``torch.load(weights_only=True)``: a file holding any other Python object is refused before any of
it is built, and no file can run code. Everything read is then checked against the models and
optimizers it is loaded into (names, shapes, dtypes, finite weights); whatever does not fit is a
:class:`CheckpointError` naming it.
"""

from __future__ import annotations

import pickle
import re
import tomllib
import warnings
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
PRETRAINED_ECONOMY = Path(__file__).parent / "pretrained" / "economy.pt"
"""A Simple model trained on the small preset with items, professions and the exchange on;
``pretrained-economy`` names it."""
SHIPPED = {"pretrained": PRETRAINED, "pretrained-economy": PRETRAINED_ECONOMY}
"""Names of the shipped checkpoints, usable wherever a checkpoint path is asked for."""

_SHOWN = 4  # names listed in a message before "..."


class CheckpointError(ValueError):
    """A file that is not a readable, well-formed checkpoint of this version."""


def game_config_from_toml(text: str) -> Config:
    """A :class:`Config` from ``Config.to_toml()`` text."""
    data = tomllib.loads(text)
    if not all(isinstance(table, dict) for table in data.values()):
        raise ValueError("the game config must be TOML tables of settings")
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
        "models": [_on_cpu(m.state_dict()) for m in models],
        "optimizers": [_on_cpu(o.state_dict()) for o in optimizers] if optimizers else None,
        "iteration": int(iteration),
        "agent_steps": int(agent_steps),
        "wall_seconds": float(wall_seconds),
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": _plain(generator.bit_generator.state) if generator is not None else None,
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def _on_cpu(value: Any) -> Any:
    """``value`` (a state dict, nested) with every tensor on the CPU: a checkpoint written on a GPU
    loads anywhere."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {k: _on_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_on_cpu(v) for v in value)
    return value


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars and arrays turned into Python numbers and lists (what
    ``weights_only`` loading accepts)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def resolve(path: str | Path) -> Path:
    """``path``, or the shipped checkpoint of a name in :data:`SHIPPED` (``pretrained``)."""
    return SHIPPED.get(str(path), Path(path))


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents, checked (every entry present, of its type; the configs valid;
    one weight table per population); :class:`CheckpointError` otherwise."""
    path = resolve(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a regular file")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols; the error says enough
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        detail = re.search(r"Unsupported [^\n]*?(?=\.? was not|\n|$)", str(e))
        raise CheckpointError(
            f"{path}: not a readable checkpoint: it holds something other than tensors and plain data"
            f"{f' ({detail.group(0)})' if detail else ''}, and was refused without running any of it"
        ) from None
    except Exception as e:  # torch raises several types for foreign or damaged files
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a {FORMAT} file")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {payload.get('version')!r}, this reads {VERSION}")
    _check_entries(payload, path)
    return payload


_ENTRIES: dict[str, tuple[type | tuple[type, ...], str]] = {
    "train_config": (dict, "a table"),
    "game_config": (str, "TOML text"),
    "models": (list, "a list of weight tables"),
    "optimizers": ((list, type(None)), "a list of optimizer states or None"),
    "iteration": (int, "an int >= 0"),
    "agent_steps": (int, "an int >= 0"),
    "torch_rng": ((torch.Tensor, type(None)), "a uint8 tensor or None"),
    "numpy_rng": ((dict, type(None)), "a table or None"),
}


def _check_entries(payload: dict[str, Any], path: Path) -> None:
    missing = [key for key in _ENTRIES if key not in payload]
    if missing:
        raise CheckpointError(f"{path}: damaged checkpoint: missing {', '.join(missing)}")
    for key, (kind, what) in _ENTRIES.items():
        value = payload[key]
        if not isinstance(value, kind) or isinstance(value, bool) or (isinstance(value, int) and value < 0):
            raise CheckpointError(f"{path}: damaged checkpoint: {key} must be {what}, got {_describe(value)}")
    seconds = payload.get("wall_seconds", 0.0)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
        raise CheckpointError(f"{path}: damaged checkpoint: wall_seconds must be a number >= 0")
    train_config, _ = configs(payload, path)
    models, optimizers = payload["models"], payload["optimizers"]
    if len(models) != train_config.populations:
        raise CheckpointError(f"{path}: damaged checkpoint: {len(models)} weight tables in models for "
                              f"{train_config.populations} population(s)")  # fmt: skip
    for p, state in enumerate(models):
        if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise CheckpointError(f"{path}: damaged checkpoint: models[{p}] must be a table of named "
                                  f"tensors, got {_describe(state)}")  # fmt: skip
    if optimizers is not None and len(optimizers) != len(models):
        raise CheckpointError(f"{path}: damaged checkpoint: {len(optimizers)} optimizer states for "
                              f"{len(models)} models")  # fmt: skip


def configs(payload: dict[str, Any], path: str | Path = "checkpoint") -> tuple[TrainConfig, Config]:
    """The training config and the game config of a checkpoint's contents; :class:`CheckpointError`
    naming the problem if either is not a valid config."""
    try:
        train_config = TrainConfig.from_dict(payload["train_config"])
    except (ValueError, TypeError, RecursionError) as e:
        detail = str(e).removeprefix("train config: ")
        raise CheckpointError(f"{path}: damaged checkpoint: train_config: {detail}") from None
    try:
        game = game_config_from_toml(payload["game_config"])
    except (ValueError, TypeError, RecursionError) as e:  # ConfigError and TOMLDecodeError included
        raise CheckpointError(f"{path}: damaged checkpoint: game_config: {e}") from None
    return train_config, game


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, (list, tuple, dict)):
        return f"a {type(value).__name__} of {len(value)}" + (" (empty)" if not value else "")
    return f"{type(value).__name__} {value!r}"[:80]


def _names(names: Sequence[str]) -> str:
    return ", ".join(names[:_SHOWN]) + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def load_weights(model: torch.nn.Module, state: Any, where: str) -> None:
    """Load ``state`` into ``model`` after checking it fits: the same names, and for each a dense
    tensor of the model's shape and dtype with finite values. :class:`CheckpointError` names what
    does not fit (``where`` says which table); ``model`` is unchanged then."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{where}: must be a table of named tensors, got {_describe(state)}")
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [str(k) for k in state if k not in expected]
    if missing or unexpected:
        parts = ([f"missing {_names(missing)}"] if missing else []) + (
            [f"unexpected {_names(unexpected)}"] if unexpected else []
        )
        raise CheckpointError(
            f"{where}: the weights do not fit a {type(model).__name__} model: {'; '.join(parts)}"
        )
    for key, want in expected.items():
        got = state[key]
        if not isinstance(got, torch.Tensor) or got.layout != torch.strided:
            raise CheckpointError(f"{where}: {key} must be a dense tensor, got {_describe(got)}")
        if got.shape != want.shape:
            raise CheckpointError(f"{where}: {key} has shape {tuple(got.shape)}, the model's is "
                                  f"{tuple(want.shape)}")  # fmt: skip
        if got.dtype != want.dtype:
            raise CheckpointError(f"{where}: {key} has dtype {got.dtype}, the model's is {want.dtype}")
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):
            raise CheckpointError(f"{where}: {key} holds non-finite values (NaN or infinity)")
    model.load_state_dict(state)


def load_optimizer(optimizer: torch.optim.Optimizer, state: Any, where: str) -> None:
    """Load ``state`` into ``optimizer`` after checking it fits the optimizer's parameters: the same
    groups of the same parameters, each parameter's buffers (Adam's moments) of its shape and
    dtype, settings of the same kinds. :class:`CheckpointError` names what does not fit."""
    own = optimizer.state_dict()
    if not isinstance(state, dict) or set(state) != {"state", "param_groups"}:
        raise CheckpointError(f"{where}: must be a table of state and param_groups, got {_describe(state)}")
    groups, per_param = state["param_groups"], state["state"]
    if not isinstance(groups, list) or len(groups) != len(own["param_groups"]):
        raise CheckpointError(f"{where}: param_groups must be a list of {len(own['param_groups'])}, got "
                              f"{_describe(groups)}")  # fmt: skip
    params: dict[Any, Any] = {}
    for g, (group, mine, live) in enumerate(zip(groups, own["param_groups"], optimizer.param_groups)):
        if not isinstance(group, dict) or group.get("params") != mine["params"]:
            raise CheckpointError(f"{where}: param_groups[{g}] does not hold the model's "
                                  f"{len(mine['params'])} parameters")  # fmt: skip
        for key, value in group.items():
            if key in mine and key != "params" and not _same_kind(value, mine[key]):
                raise CheckpointError(f"{where}: param_groups[{g}].{key} is {_describe(value)}, expected "
                                      f"{_describe(mine[key])}")  # fmt: skip
        params.update(zip(mine["params"], live["params"]))
    if not isinstance(per_param, dict):
        raise CheckpointError(f"{where}: state must be a table, got {_describe(per_param)}")
    for index, buffers in per_param.items():
        if index not in params or not isinstance(buffers, dict):
            raise CheckpointError(f"{where}: state[{index!r}] names no parameter of the model")
        param = params[index]
        for name, value in buffers.items():
            if isinstance(value, torch.Tensor) and value.ndim == 0:
                ok = not value.is_complex()
            elif isinstance(value, torch.Tensor):
                ok = (
                    value.shape == param.shape
                    and value.dtype == param.dtype
                    and value.layout == torch.strided
                )
            else:
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not ok:
                raise CheckpointError(f"{where}: state[{index}].{name} is {_describe(value)}, its parameter "
                                      f"has shape {tuple(param.shape)} and dtype {param.dtype}")  # fmt: skip
    try:
        optimizer.load_state_dict(state)
    except (ValueError, TypeError, KeyError, RuntimeError) as e:
        raise CheckpointError(f"{where}: {e}") from None


def _same_kind(a: Any, b: Any) -> bool:
    """Optimizer settings: numbers with numbers, flags with flags, pairs with pairs."""
    if isinstance(b, bool) or b is None:
        return isinstance(a, bool) or a is None
    if isinstance(b, (int, float)) or (isinstance(b, torch.Tensor) and b.ndim == 0):
        return (isinstance(a, (int, float)) and not isinstance(a, bool)) or (
            isinstance(a, torch.Tensor) and a.ndim == 0
        )
    if isinstance(b, (tuple, list)):
        return isinstance(a, (tuple, list)) and len(a) == len(b) and all(map(_same_kind, a, b))
    return isinstance(a, type(b))


def restore_random_states(payload: dict[str, Any], generator: np.random.Generator | None,
                          path: str | Path = "checkpoint") -> None:  # fmt: skip
    """Set torch's random state and ``generator``'s from a checkpoint's contents, after checking
    them; :class:`CheckpointError` if either does not fit (nothing is changed then)."""
    torch_state, numpy_state = payload["torch_rng"], payload["numpy_rng"]
    if torch_state is not None:
        own = torch.get_rng_state()
        if torch_state.dtype != own.dtype or torch_state.shape != own.shape:
            raise CheckpointError(f"{path}: damaged checkpoint: torch_rng is {_describe(torch_state)}, "
                                  f"expected {_describe(own)}")  # fmt: skip
    if numpy_state is not None and generator is not None:
        trial = np.random.Generator(type(generator.bit_generator)())
        try:
            trial.bit_generator.state = numpy_state
        except (ValueError, TypeError, KeyError, OverflowError) as e:
            raise CheckpointError(f"{path}: damaged checkpoint: numpy_rng: {e}") from None
        generator.bit_generator.state = trial.bit_generator.state
    if torch_state is not None:
        torch.set_rng_state(torch_state)


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
    train_config, game = configs(payload, resolve(path))
    try:
        layout = ObsLayout(game)
        models = [
            make_model(train_config.model, layout, train_config.hidden, train_config.attributes)
            for _ in payload["models"]
        ]
    except ValueError as e:
        raise CheckpointError(f"{resolve(path)}: damaged checkpoint: {e}") from None
    for p, (model, state) in enumerate(zip(models, payload["models"])):
        load_weights(model, state, f"{resolve(path)}: models[{p}]")
        model.eval()
    return models, train_config, game


class TrainedPolicy(Policy):
    """A checkpoint's models as a batched :class:`~neural_mmo.agents.base.Policy` for the scripted
    tools (``run``, ``eval``, ``serve``). Rows are agent slots; recurrent state is kept per row
    and restarted by :meth:`restart`. ``greedy`` takes each head's most likely value; otherwise
    actions are drawn with the policy's own generator, seeded with ``seed``, so that a seed replays
    the same actions whatever else uses torch's random state."""

    name = "trained"
    reads_tables = True  # the market, for the buy head (neural_mmo.train.io)

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
            drawn = act(self.models, observations, rows, population, self.states, self.greedy, self.generator)
            out[rows] = drawn[0]
        return out
