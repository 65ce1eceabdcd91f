"""Research tools: server-merge tournaments, the paper's analysis maps and its experiments.

* :func:`run_tournament` (``neural-mmo tournament``): checkpoints and scripted policies share worlds;
* :func:`analyze` (``neural-mmo analyze``) and :mod:`neural_mmo.research.maps`: exploration, niche,
  dependency and attack maps;
* :func:`run_experiment` (``neural-mmo experiment``): the paper's experiments as TOML recipes.

Needs ``pip install 'neural-mmo[train,research]'`` (PyTorch, openskill, matplotlib), imported
where used. See docs/research.md.
"""

from neural_mmo.research.analyze import analyze
from neural_mmo.research.entrants import Entrant, EntrantError, load_entrant
from neural_mmo.research.experiments import load_recipe, recipe_names, run_experiment, smoke
from neural_mmo.research.maps import (
    MapRecorder,
    coverage,
    dependency_map,
    jensen_shannon,
    specialisation,
)
from neural_mmo.research.tournament import TournamentResult, run_tournament

__all__ = [
    "Entrant",
    "EntrantError",
    "MapRecorder",
    "TournamentResult",
    "analyze",
    "coverage",
    "dependency_map",
    "jensen_shannon",
    "load_entrant",
    "load_recipe",
    "recipe_names",
    "run_experiment",
    "run_tournament",
    "smoke",
    "specialisation",
]
