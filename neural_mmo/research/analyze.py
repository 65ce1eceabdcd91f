"""``neural-mmo analyze``: the analysis maps of one policy, written to a folder.

One evaluation (the policy in ``worlds`` worlds of its game on one fixed map, ``ticks`` ticks)
gives the exploration, niche and attack maps; the dependency map comes from forward passes of the
checkpoint's models (scripted policies have no value function, so they get the first three only).
Each map is a PNG and an array (``maps.npz``, ``dependency.npy``); the numbers go to
``analysis.json``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from neural_mmo.agents import Player
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.research.entrants import EntrantError, load_entrant, make_scripted
from neural_mmo.research.maps import MapRecorder, dependency_map, save_maps
from neural_mmo.research.tournament import HELD_OUT_SEED

MAPS = ("exploration", "niche", "attacks", "dependency")


def analysis_config(game: Config, map_seed: int | None, seed: int) -> Config:
    """The game on one fixed map: ``map_seed``, else the game's own fixed map, else the held-out
    ``seed``'s."""
    if map_seed is not None:
        return game.override({"map.fixed_seed": int(map_seed), "map.file": ""})
    if game.map.file or game.map.fixed_seed >= 0:
        return game
    return game.override({"map.fixed_seed": int(seed)})


def analyze(
    policy: str, out: str | Path, *, maps: tuple[str, ...] = MAPS, worlds: int = 4, ticks: int | None = None,
    seed: int = HELD_OUT_SEED, map_seed: int | None = None, game: Config | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Analyse ``policy`` (a checkpoint path, ``pretrained`` or a scripted policy name) and write
    the maps to ``out``; returns the numbers (also in ``out/analysis.json``).

    ``game``: the game to play (a scripted policy's; a checkpoint plays its own unless given).
    """
    unknown = [m for m in maps if m not in MAPS]
    if unknown:
        raise EntrantError(f"unknown map(s) {', '.join(unknown)}; choose from {', '.join(MAPS)}")
    entrant = load_entrant(policy)
    base = game or entrant.game or Config.preset("small")
    config = analysis_config(base, map_seed, seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"policy": str(policy), "worlds": worlds, "seed": seed,
                              "map_seed": config.map.fixed_seed, "map_file": config.map.file}  # fmt: skip
    if set(maps) - {"dependency"}:
        env = VecEnv(worlds, config=config, seed=seed, autoreset=False)
        if entrant.is_checkpoint:
            from neural_mmo.train.checkpoint import TrainedPolicy

            player_policy: Any = TrainedPolicy(entrant.source, layout=env.layout, seed=seed)
        else:
            make_scripted(entrant, env.layout, seed)
            player_policy = entrant.policy
        player = Player(env, player_policy)
        recorder = MapRecorder(env)
        player.reset()
        recorder.start()
        for _ in player.run(config.episode.horizon if ticks is None else ticks, until_done=True):
            recorder.tick()
        recorder.finish()
        result.update(save_maps(recorder, out))
    if "dependency" in maps:
        if not entrant.is_checkpoint:
            result["dependency"] = "scripted policies have no value function"
        else:
            import numpy as np

            from neural_mmo.research.plots import plot_dependency

            values = dependency_map(entrant.models or [], entrant.game or config)
            np.save(out / "dependency.npy", values)
            plot_dependency(
                values, out / "dependency.png", f"value change with a second agent: {entrant.name}"
            )
            finite = values[np.isfinite(values)]
            result["dependency_abs_mean"] = float(np.abs(finite).mean()) if finite.size else math.nan
            result["dependency_mean"] = float(finite.mean()) if finite.size else math.nan
    (out / "analysis.json").write_text(json.dumps(result, indent=1))
    return result
