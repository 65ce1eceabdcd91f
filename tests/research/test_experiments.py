"""Experiment recipes: the shipped ones are valid, bad ones are refused, and one runs end to end
at the smoke scale."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("openskill")
pytest.importorskip("matplotlib")

from neural_mmo.config import ConfigError  # noqa: E402
from neural_mmo.research.experiments import (  # noqa: E402
    load_recipe,
    parse_recipe,
    recipe_names,
    run_experiment,
    smoke,
)

TINY = """
name = "tiny"
claim = "a check"
[train]
preset = "small"
total_steps = 1000
[train.game]
"npc.n_npcs" = 0
"map.size" = 24
"spawn.n_agents" = 8
[[arm]]
name = "a"
[[arm]]
name = "b"
game = { "spawn.cap" = 4 }
[tournament]
agents = [4, 8]
entrants = ["forager"]
[maps]
maps = ["exploration", "niche", "attacks", "dependency"]
"""


def tiny(**changes):
    import tomllib

    data = tomllib.loads(TINY)
    data.update(changes)
    return data


def test_the_shipped_recipes_are_valid():
    assert recipe_names() == ["dependency", "population-size", "species"]
    for name in recipe_names():
        recipe = load_recipe(name)
        assert len(recipe.arms) == 3 and recipe.claim and recipe.figure
        steps = {recipe.train_config(arm, "x").total_steps for arm in recipe.arms}
        assert len(steps) == 1, "every arm trains on the same number of samples"
    sizes = load_recipe("population-size")
    assert [sizes.train_config(a, "x").game["spawn.n_agents"] for a in sizes.arms] == [4, 16, 64]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown key.*colour"),
        ({"arm": [{"name": "a", "gmae": {}}]}, "arm 1: unknown key.*gmae"),
        ({"arm": [{"name": "a", "game": {"spawn.cpa": 3}}]}, "spawn.cpa"),
        ({"arm": [{"name": "a", "game": {"spawn.cap": 99}}]}, "arm 'a'.*spawn.cap: 99 exceeds"),
        ({"arm": [{"name": "a", "train": {"lr": "fast"}}]}, "arm 'a'.*lr"),
        ({"arm": [{"name": "a"}, {"name": "a"}]}, "names must differ"),
        ({"arm": []}, "at least one"),
        ({"tournament": {"rounds": 2, "referee": "x"}}, r"\[tournament\]: unknown key.*referee"),
        ({"tournament": {"agents": [8, 0]}}, r"\[tournament\] agents must be"),
        ({"tournament": {"game": {"combat.enabled": False, "npc.n_npcs": 5}}}, r"\[tournament\] game.*npc"),
        ({"train": {"total_steps": 10, "learning": 1}}, r"\[train\]: unknown key.*learning"),
    ],
)
def test_bad_recipes_are_refused_naming_the_key(change, message):
    with pytest.raises(ConfigError, match=message):
        parse_recipe(tiny(**change), "tiny.toml")


def test_an_unknown_recipe_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match="population-size"):
        load_recipe("populaton-size")


def test_a_recipe_runs_end_to_end_at_the_smoke_scale_and_resumes(tmp_path):
    recipe = smoke(parse_recipe(tiny(), "tiny.toml"))
    messages = []
    results = run_experiment(recipe, tmp_path, log=messages.append)
    assert set(results["arms"]) == {"a", "b"}
    for arm in ("a", "b"):
        r = results["arms"][arm]
        assert r["agent_steps"] > 0 and r["evaluation"]["agents_seen"] > 0
        assert 0 < r["maps"]["coverage"] <= 1 and r["maps"]["ticks"] > 0
        assert (tmp_path / "maps" / arm / "dependency.png").exists()
    names = [e["name"] for e in results["tournament"]["entrants"]]
    assert names == ["a", "b", "forager"]
    table = (tmp_path / "results.md").read_text()
    assert "| a |" in table and "| b |" in table and "forager" in table
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["recipe"] == "tiny" and len(saved["figures"]) == 6
    assert (
        list(saved["tournament"]["by_agents"]) == ["4", "8"]
        and saved["tournament"]["settings"]["agents"] == 8
    )
    assert "| 4 |" in table and (tmp_path / "tournament" / "agents-4" / "tournament.png").exists()
    assert all((tmp_path / f).exists() for f in saved["figures"])
    checkpoint = tmp_path / "arms" / "a" / "checkpoints" / "latest.pt"
    stamp = checkpoint.stat().st_mtime_ns
    run_experiment(recipe, tmp_path)
    assert checkpoint.stat().st_mtime_ns == stamp, "a finished arm is not trained again"
    with pytest.raises(ConfigError, match="scale"):
        run_experiment(recipe, tmp_path, scale=0)
