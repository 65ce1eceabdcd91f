"""Small untrained checkpoints for the research tests (written in a second, no training)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from neural_mmo.config import make_config

GAME = {"npc.n_npcs": 0, "map.size": 32, "spawn.n_agents": 16}
"""Game overrides of the test checkpoints: the small preset on a 32-tile map, no NPCs."""


def make_checkpoint(path: Path, populations: int = 1, model: str = "simple", **game: Any) -> Path:
    """A checkpoint of untrained models, as ``neural-mmo train`` would write one for this game."""
    torch = pytest.importorskip("torch")
    from neural_mmo.observe.layout import ObsLayout
    from neural_mmo.train.checkpoint import save_checkpoint
    from neural_mmo.train.config import TrainConfig
    from neural_mmo.train.models import make_model

    overrides = {**GAME, **game}
    train = TrainConfig(preset="small", game=overrides, populations=populations, model=model, hidden=16)
    config = make_config("small", **{k.replace(".", "__"): v for k, v in overrides.items()},
                         spawn__n_populations=populations)  # fmt: skip
    torch.manual_seed(len(str(path)))
    models = [make_model(model, ObsLayout(config), hidden=16).eval() for _ in range(populations)]
    return save_checkpoint(path, train_config=train, game_config=config, models=models)


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Named test checkpoints: one population, two populations, automatic targeting, combat off,
    and another observation layout."""
    folder = tmp_path_factory.mktemp("checkpoints")
    return {
        "one": make_checkpoint(folder / "one.pt"),
        "two": make_checkpoint(folder / "two.pt", populations=2),
        "auto": make_checkpoint(folder / "auto.pt", **{"combat.auto_target": True}),
        "peaceful": make_checkpoint(folder / "peaceful.pt", **{"combat.enabled": False}),
        "narrow": make_checkpoint(folder / "narrow.pt", **{"observe.n_entities": 8}),
    }
