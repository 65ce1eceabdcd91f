"""Training (extra ``[train]``: PyTorch): baseline models fitted to the observation and action
spaces, PPO over the VecEnv's flat buffers, populations, runs, checkpoints and evaluation.

``from neural_mmo.train import Base, Simple, Recurrent, Trainer, TrainConfig, TrainedPolicy``.
Submodules load PyTorch only when used, so the rest of the package works without it.
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from typing import Any

if "torch" not in sys.modules:
    # Idle torch threads sleep instead of spinning: spinning threads fight any other load on the
    # machine and training collapses (docs/training.md, "Threads"). OpenMP reads this once, when
    # torch loads; a value the user set wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
PASSIVE_WAIT = os.environ.get("OMP_WAIT_POLICY", "").strip().upper() == "PASSIVE"
"""Whether torch's idle threads sleep (as far as this process can tell)."""

_EXPORTS = {
    "Input": "io", "Output": "io", "Encoded": "io",
    "Base": "models", "Simple": "models", "Recurrent": "models", "make_model": "models",
    "TrainConfig": "config",
    "Trainer": "trainer",
    "TrainedPolicy": "checkpoint", "CheckpointError": "checkpoint", "load_models": "checkpoint",
    "compare": "evaluate", "run_policy": "evaluate",
}  # fmt: skip

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'neural_mmo.train' has no attribute {name!r}")
    return getattr(import_module(f"neural_mmo.train.{_EXPORTS[name]}"), name)
