"""The paper's experiments as recipes: train every arm, evaluate it, hold a tournament between the
arms, draw the analysis maps, and write the figures and a results table to one folder.

A recipe is a TOML file (the package ships ``population-size``, ``species`` and ``dependency`` in
``neural_mmo/research/recipes/``)::

    name = "population-size"
    claim = "what the paper found, and what would reproduce it"

    [train]                      # training settings every arm shares (neural-mmo train's fields)
    total_steps = 4_000_000      # the same number of samples (agent-steps) for every arm
    [train.game]                 # game overrides every arm shares
    "map.fixed_seed" = 7

    [[arm]]                      # one per arm: a name, then train and game overrides
    name = "cap 4"
    game = { "spawn.cap" = 4, "spawn.sample_cap" = true }

    [evaluate]                   # each arm in its own game, on held-out seeds
    worlds = 4
    [tournament]                 # the arms (and scripted entrants) in shared worlds
    agents = 64
    entrants = ["forager"]
    game = { "npc.n_npcs" = 0 }
    [maps]                       # analysis maps of every arm, on its own game's fixed map
    maps = ["exploration", "niche"]

Every key is checked: an unknown one is a ConfigError naming it. ``scale`` multiplies the
training samples of every arm (``--scale 4`` for a bigger machine, ``0.25`` for a quicker look);
``smoke`` shrinks everything to a pipeline check that runs in seconds.

A finished arm (its checkpoint holds the samples asked for) is not trained again, so an
interrupted experiment continues where it stopped when run again into the same folder.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neural_mmo.config import ConfigError, read_toml

RECIPES = Path(__file__).parent / "recipes"

_TOP = {"name", "claim", "figure", "train", "arm", "evaluate", "tournament", "maps"}
_ARM = {"name", "train", "game"}
_EVALUATE = {"worlds", "ticks", "seed"}
_TOURNAMENT = {"agents", "worlds", "ticks", "rounds", "seed", "entrants", "game"}
_MAPS = {"maps", "worlds", "ticks", "seed"}
_SECTIONS = {"evaluate": _EVALUATE, "tournament": _TOURNAMENT, "maps": _MAPS}


@dataclass
class Arm:
    name: str
    train: dict[str, Any] = field(default_factory=dict)
    game: dict[str, Any] = field(default_factory=dict)


@dataclass
class Recipe:
    """A checked recipe (see module docs)."""

    name: str
    claim: str
    figure: str
    train: dict[str, Any]
    arms: list[Arm]
    evaluate: dict[str, Any]
    tournament: dict[str, Any]
    maps: dict[str, Any]
    source: str = ""

    def train_config(self, arm: Arm, out: Path, scale: float = 1.0) -> Any:
        """The :class:`~neural_mmo.train.config.TrainConfig` of one arm."""
        from neural_mmo.train.config import TrainConfig

        values = {k: v for k, v in self.train.items() if k != "game"}
        values.update({k: v for k, v in arm.train.items() if k != "game"})
        values["game"] = {**self.train.get("game", {}), **arm.game}
        values["out"] = str(out)
        values["total_steps"] = max(1, int(round(values.get("total_steps", 4_000_000) * scale)))
        try:
            config = TrainConfig.from_dict(values)
            config.validate()
            _game_of(config)
        except (ValueError, TypeError) as err:
            raise ConfigError(f"{self.source or self.name}: arm {arm.name!r}: {err}") from None
        return config


def _game_of(train_config: Any) -> Any:
    from neural_mmo.config import make_config

    overrides = {**train_config.game, "spawn.n_populations": train_config.populations}
    return make_config(train_config.preset, **{k.replace(".", "__"): v for k, v in overrides.items()})


def _table(value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table, got {type(value).__name__}")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    return dict(value)


def _flat_game(value: Any, where: str) -> dict[str, Any]:
    """Game overrides as ``{"group.field": value}`` (TOML may nest them); unknown fields are a
    ConfigError (values are checked with the whole game, when each arm's config is built)."""
    from neural_mmo.config import field_docs, resolve_key

    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: game overrides must be a table, got {type(value).__name__}")
    flat: dict[str, Any] = {}
    stack = [("", value)]
    while stack:
        prefix, table = stack.pop()
        for key, item in table.items():
            if isinstance(item, dict):
                stack.append((f"{prefix}{key}.", item))
            else:
                flat[f"{prefix}{key}"] = item
    known = {key for key, _ in field_docs()}
    checked = {}
    for key, item in flat.items():
        try:
            full = resolve_key(key)
        except ConfigError as err:
            raise ConfigError(f"{where}: {err}") from None
        if full not in known:
            raise ConfigError(f"{where}: {key}: not a game config field (group.field, e.g. spawn.cap)")
        checked[full] = item
    return checked


def parse_recipe(data: dict[str, Any], source: str = "recipe") -> Recipe:
    """A :class:`Recipe` from parsed TOML; ConfigError for unknown keys or bad values."""
    from neural_mmo.train.config import TrainConfig

    _table(data, source, _TOP)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{source}: name must be a non-empty string")
    train_fields = set(TrainConfig.defaults())
    train = _table(data.get("train"), f"{source}: [train]", train_fields)
    train["game"] = _flat_game(train.get("game"), f"{source}: [train.game]")
    arms_data = data.get("arm")
    if not isinstance(arms_data, list) or not arms_data:
        raise ConfigError(f"{source}: at least one [[arm]] is needed")
    arms = []
    for k, item in enumerate(arms_data):
        where = f"{source}: arm {k + 1}"
        table = _table(item, where, _ARM)
        arm_name = table.get("name")
        if not isinstance(arm_name, str) or not arm_name or "/" in arm_name:
            raise ConfigError(f"{where}: name must be a non-empty string without '/'")
        arm_train = _table(table.get("train"), f"{where} ({arm_name}): train", train_fields - {"game", "out"})
        arms.append(Arm(arm_name, arm_train, _flat_game(table.get("game"), f"{where} ({arm_name}): game")))
    if len({a.name for a in arms}) != len(arms):
        raise ConfigError(f"{source}: arm names must differ")
    sections = {
        key: _table(data.get(key), f"{source}: [{key}]", allowed) for key, allowed in _SECTIONS.items()
    }
    sections["tournament"]["game"] = _flat_game(
        sections["tournament"].get("game"), f"{source}: [tournament] game"
    )
    entrants = sections["tournament"].get("entrants", [])
    if not isinstance(entrants, list) or not all(isinstance(e, str) for e in entrants):
        raise ConfigError(f"{source}: [tournament] entrants must be a list of policy names")
    for key in ("claim", "figure"):
        if not isinstance(data.get(key, ""), str):
            raise ConfigError(f"{source}: {key} must be a string")
    recipe = Recipe(name, data.get("claim", ""), data.get("figure", ""), train, arms, sections["evaluate"],
                    sections["tournament"], sections["maps"], source)  # fmt: skip
    for arm in arms:
        recipe.train_config(arm, Path("."))
    try:
        _game_of(recipe.train_config(arms[0], Path("."))).override(sections["tournament"]["game"])
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{source}: [tournament] game: {err}") from None
    return recipe


def recipe_names() -> list[str]:
    return sorted(p.stem for p in RECIPES.glob("*.toml"))


def load_recipe(name_or_path: str | Path) -> Recipe:
    """A shipped recipe by name (``population-size``) or a TOML file of one."""
    text = str(name_or_path)
    path = RECIPES / f"{text}.toml" if text in recipe_names() else Path(text)
    if not path.exists():
        raise ConfigError(
            f"experiment {text!r}: not a recipe name ({', '.join(recipe_names())}, or all) nor a TOML file"
        )
    return parse_recipe(read_toml(path, "experiment recipe"), str(path))


SMOKE_TRAIN = {"total_steps": 1, "worlds": 2, "horizon": 8, "minibatch": 256, "checkpoint_every": 1000}
SMOKE_RUN = {"worlds": 1, "ticks": 12, "rounds": 1}


def smoke(recipe: Recipe) -> Recipe:
    """The recipe shrunk to a pipeline check: one short training iteration per arm, one world of a
    dozen ticks for every evaluation, tournament and map (seconds, and meaningless numbers)."""
    train = {**recipe.train, **SMOKE_TRAIN, "threads": 1}
    arms = [
        Arm(a.name, {k: v for k, v in a.train.items() if k not in SMOKE_TRAIN}, a.game) for a in recipe.arms
    ]
    evaluate = {**recipe.evaluate, "worlds": 1, "ticks": SMOKE_RUN["ticks"]}
    tournament = {**recipe.tournament, **SMOKE_RUN}
    maps = {**recipe.maps, "worlds": 1, "ticks": SMOKE_RUN["ticks"]}
    return Recipe(
        recipe.name, recipe.claim, recipe.figure, train, arms, evaluate, tournament, maps, recipe.source
    )


# ------------------------------------------------------------------------------------ running


def run_experiment(
    recipe: Recipe, out: str | Path, *, scale: float = 1.0, log: Callable[[str], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Run every stage of ``recipe`` into ``out`` (see module docs); returns the results (also
    ``out/results.json`` and ``out/results.md``)."""
    if (
        isinstance(scale, bool)
        or not isinstance(scale, (int, float))
        or not 0 < scale < 1e6
        or math.isnan(scale)
    ):
        raise ConfigError(f"scale must be a number above 0, got {scale!r}")
    say = log or (lambda _: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict[str, Any] = {"recipe": recipe.name, "claim": recipe.claim, "figure": recipe.figure,
                               "scale": scale, "arms": {}}  # fmt: skip
    checkpoints: dict[str, Path] = {}
    for arm in recipe.arms:
        arm_out = out / "arms" / _slug(arm.name)
        say(f"[{recipe.name}] training {arm.name}")
        checkpoints[arm.name], results["arms"][arm.name] = train_arm(recipe, arm, arm_out, scale)
    for arm in recipe.arms:
        say(f"[{recipe.name}] evaluating {arm.name}")
        results["arms"][arm.name]["evaluation"] = evaluate_arm(checkpoints[arm.name], recipe.evaluate)
    say(f"[{recipe.name}] tournament")
    results["tournament"] = hold_tournament(recipe, checkpoints, out / "tournament")
    if recipe.maps.get("maps"):
        for arm in recipe.arms:
            say(f"[{recipe.name}] maps of {arm.name}")
            results["arms"][arm.name]["maps"] = draw_maps(checkpoints[arm.name], recipe.maps,
                                                          out / "maps" / _slug(arm.name))  # fmt: skip
        results["figures"] = experiment_figures(recipe, results, out)
    results["wall_seconds"] = time.perf_counter() - started
    (out / "results.json").write_text(json.dumps(results, indent=1, default=_plain))
    (out / "results.md").write_text(results_markdown(recipe, results))
    say(f"[{recipe.name}] done in {results['wall_seconds']:.0f} s: {out / 'results.md'}")
    return results


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name)


def _plain(value: Any) -> Any:
    try:
        return value.tolist()
    except AttributeError:
        return str(value)


def train_arm(recipe: Recipe, arm: Arm, out: Path, scale: float) -> tuple[Path, dict[str, Any]]:
    """Train one arm into ``out`` (skipped when its checkpoint already holds the samples asked
    for); returns its checkpoint and training summary."""
    from neural_mmo.train.checkpoint import CheckpointError, read_checkpoint
    from neural_mmo.train.trainer import Trainer

    config = recipe.train_config(arm, out, scale)
    latest = out / "checkpoints" / "latest.pt"
    done = None
    if latest.exists():
        try:
            payload = read_checkpoint(latest)
            if (
                payload["agent_steps"] >= config.total_steps
                and payload["train_config"].get("game") == config.game
            ):
                done = payload
        except CheckpointError:
            done = None
    if done is None:
        trainer = Trainer(config)
        try:
            trainer.train(progress=False)
        finally:
            trainer.close()
        done = read_checkpoint(latest)
    history = []
    metrics = out / "metrics.jsonl"
    if metrics.exists():
        history = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    tail = history[-max(1, len(history) // 10) :] if history else []
    lifetimes = [h["env/lifetime_mean"] for h in tail if isinstance(h.get("env/lifetime_mean"), float)
                 and math.isfinite(h["env/lifetime_mean"])]  # fmt: skip
    return latest, {
        "agent_steps": int(done["agent_steps"]),
        "iterations": int(done["iteration"]),
        "train_minutes": float(done.get("wall_seconds", 0.0)) / 60,
        "train_lifetime_last_tenth": float(sum(lifetimes) / len(lifetimes)) if lifetimes else math.nan,
        "game": config.game,
    }


def evaluate_arm(checkpoint: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """The arm in its own game on held-out seeds (``neural-mmo eval``'s numbers)."""
    from neural_mmo.train.checkpoint import TrainedPolicy
    from neural_mmo.train.evaluate import HELD_OUT_SEED, run_policy

    policy = TrainedPolicy(checkpoint, seed=settings.get("seed", HELD_OUT_SEED))
    game = policy.game_config
    if "ticks" in settings:
        game = game.override({"episode.horizon": int(settings["ticks"])})
    summary = run_policy(
        policy, game, seed=settings.get("seed", HELD_OUT_SEED), worlds=settings.get("worlds", 4)
    )
    keep = ("lifetime_mean", "lifetime_max", "agents_seen", "population_mean", "hits", "kills_of_agents",
            "kills_of_npcs", "deaths_per_agent")  # fmt: skip
    return {k: summary[k] for k in keep}


def hold_tournament(recipe: Recipe, checkpoints: dict[str, Path], out: Path) -> dict[str, Any]:
    """The arms (named as in the recipe) and the recipe's scripted entrants in shared worlds."""
    from neural_mmo.config import Config
    from neural_mmo.research.entrants import load_entrant
    from neural_mmo.research.tournament import HELD_OUT_SEED, run_tournament

    settings = recipe.tournament
    entrants = []
    for name, path in checkpoints.items():
        entrant = load_entrant(str(path))
        entrant.name = name
        entrants.append(entrant)
    entrants += [load_entrant(e) for e in settings.get("entrants", [])]
    base = entrants[0].game or Config.preset("small")
    overrides = {"spawn.cap": 0, "spawn.sample_cap": False, **settings.get("game", {})}
    result = run_tournament(
        entrants,
        agents=settings.get("agents"),
        worlds=settings.get("worlds", 4),
        ticks=settings.get("ticks"),
        rounds=settings.get("rounds", 2),
        seed=settings.get("seed", HELD_OUT_SEED),
        game=base.override(overrides),
    )
    result.save(out)
    return result.to_dict()


def draw_maps(checkpoint: Path, settings: dict[str, Any], out: Path) -> dict[str, Any]:
    from neural_mmo.research.analyze import analyze
    from neural_mmo.research.tournament import HELD_OUT_SEED

    return analyze(
        str(checkpoint),
        out,
        maps=tuple(settings.get("maps", ())),
        worlds=settings.get("worlds", 4),
        ticks=settings.get("ticks"),
        seed=settings.get("seed", HELD_OUT_SEED),
    )


def experiment_figures(recipe: Recipe, results: dict[str, Any], out: Path) -> list[str]:
    """The arms side by side: the numbers of the maps as bars, each map's picture per arm."""
    from PIL import Image

    from neural_mmo.research.plots import image_grid, plot_bars

    names = [a.name for a in recipe.arms]
    maps = [results["arms"][n].get("maps", {}) for n in names]
    figures = []
    series = {}
    for key, label in (("coverage", "coverage (share of tiles)"), ("distance_from_spawn_mean",
                       "distance from spawn (tiles)"), ("specialisation", "specialisation (mean JS)"),
                       ("dependency_abs_mean", "|value change| (mean)")):  # fmt: skip
        values = [m.get(key) for m in maps]
        if all(isinstance(v, float) and math.isfinite(v) for v in values):
            series[label] = values
    tournament = results.get("tournament", {}).get("entrants", [])
    by_name = {e["name"]: e for e in tournament}
    if all(n in by_name for n in names):
        series["tournament lifetime"] = [by_name[n]["lifetime_mean"] for n in names]
    if series:
        path = plot_bars(names, series, out / "figures" / "numbers.png", recipe.name)
        figures.append(str(path.relative_to(out)))
    for picture in ("exploration", "niche", "attacks", "dependency"):
        files = [out / "maps" / _slug(n) / f"{picture}.png" for n in names]
        if all(f.exists() for f in files):
            images = [np_image(Image.open(f)) for f in files]
            path = image_grid(images, names, out / "figures" / f"{picture}.png", f"{recipe.name}: {picture}")
            figures.append(str(path.relative_to(out)))
    return figures


def np_image(image: Any) -> Any:
    import numpy as np

    return np.asarray(image.convert("RGB"))


def results_markdown(recipe: Recipe, results: dict[str, Any]) -> str:
    """The results table of an experiment."""
    lines = [f"# {recipe.name}", "", recipe.claim.strip(), "", f"Scale {results['scale']:g}; wall clock "
             f"{results.get('wall_seconds', 0) / 60:.1f} min.", ""]  # fmt: skip
    header = ["arm", "agent-steps", "train min", "eval lifetime", "tournament lifetime (95% CI)", "rating",
              "coverage", "distance", "specialisation", "dependency (mean abs)"]  # fmt: skip
    lines += ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    by_name = {e["name"]: e for e in results.get("tournament", {}).get("entrants", [])}

    def fmt(value: Any, digits: str = ".3g") -> str:
        return (
            "" if not isinstance(value, (int, float)) or not math.isfinite(value) else format(value, digits)
        )

    for arm in recipe.arms:
        r = results["arms"][arm.name]
        t = by_name.get(arm.name, {})
        m = r.get("maps", {})
        lines.append("| " + " | ".join([
            arm.name, f"{r['agent_steps']:,}", fmt(r["train_minutes"], ".1f"),
            fmt(r.get("evaluation", {}).get("lifetime_mean"), ".1f"),
            f"{fmt(t.get('lifetime_mean'), '.1f')} ± {fmt(t.get('lifetime_ci95'), '.1f')}" if t else "",
            fmt(t.get("rating"), ".2f"), fmt(m.get("coverage")), fmt(m.get("distance_from_spawn_mean")),
            fmt(m.get("specialisation")), fmt(m.get("dependency_abs_mean")),
        ]) + " |")  # fmt: skip
    others = [
        e for e in results.get("tournament", {}).get("entrants", []) if e["name"] not in results["arms"]
    ]
    if others:
        lines += ["", "Scripted entrants of the tournament:", ""]
        for e in others:
            lines.append(f"* {e['name']}: lifetime {fmt(e['lifetime_mean'], '.1f')} ± "
                         f"{fmt(e['lifetime_ci95'], '.1f')}, rating {fmt(e['rating'], '.2f')}")  # fmt: skip
    if results.get("figures"):
        lines += ["", "Figures: " + ", ".join(f"[{f}]({f})" for f in results["figures"])]
    return "\n".join(lines) + "\n"
