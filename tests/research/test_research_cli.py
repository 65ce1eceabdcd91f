"""``neural-mmo tournament``, ``analyze`` and ``experiment``: results on disk, and bad input as one
message with exit code 2."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("openskill")
pytest.importorskip("matplotlib")

from neural_mmo.cli import main  # noqa: E402

SMALL = ["--preset", "small", "--set", "npc.n_npcs=0", "--set", "map.size=24"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_tournament_of_scripted_policies(tmp_path, capsys):
    code, out, _ = run(capsys, "tournament", "forager", "random", *SMALL, "--agents", "8", "--worlds", "1",
                       "--ticks", "20", "--rounds", "1", "--out", str(tmp_path), "--json")  # fmt: skip
    assert code == 0
    result = json.loads(out)
    assert [e["name"] for e in result["entrants"]] == ["forager", "random"]
    assert result["settings"]["agents"] == 8 and result["settings"]["map_size"] == 24
    assert (tmp_path / "tournament.png").exists() and (tmp_path / "tournament.md").exists()


def test_analyze_a_scripted_policy(tmp_path, capsys):
    code, out, _ = run(capsys, "analyze", "fighter", *SMALL, "--worlds", "1", "--ticks", "15",
                       "--map-seed", "3", "--out", str(tmp_path), "--json")  # fmt: skip
    assert code == 0
    result = json.loads(out)
    assert result["map_seed"] == 3 and 0 < result["coverage"] <= 1
    assert result["dependency"] == "scripted policies have no value function"
    for name in ("exploration.png", "niche.png", "attacks.png", "maps.npz", "analysis.json"):
        assert (tmp_path / name).exists()


def test_analyze_a_checkpoint_draws_the_dependency_map(tmp_path, capsys, checkpoints):
    code, _, _ = run(
        capsys, "analyze", str(checkpoints["two"]), "--maps", "dependency", "--out", str(tmp_path)
    )
    assert code == 0
    import numpy as np

    values = np.load(tmp_path / "dependency.npy")
    assert values.shape == (2, 2, 15, 15) and np.isnan(values[:, :, 7, 7]).all()
    assert (tmp_path / "dependency.png").exists()


def test_experiment_list(capsys):
    code, out, _ = run(capsys, "experiment", "--list")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ["dependency", "population-size", "species"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tournament", "forager"], "at least two entrants"),
        (["tournament", "MISSING.pt", "forager"], "MISSING.pt: no such checkpoint file"),
        (["tournament", "forager", "random", "fighter", "--agents", "2"], "below the 3 populations"),
        (["tournament", "forager", "random", "--set", "spawn.cpa=3"], "spawn.cpa"),
        (["analyze", "forager", "--maps", "exploration,heat"], "unknown map.*heat"),
        (["analyze", "nothing-here.pt"], "no such checkpoint file"),
        (["experiment", "populaton-size"], "not a recipe name"),
    ],
)
def test_bad_input_is_one_message_and_exit_code_2(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("neural-mmo: error:") and "Traceback" not in err
    import re

    assert re.search(message, err), err


def test_corrupt_checkpoints_and_mismatched_layouts_exit_2(tmp_path, capsys, checkpoints):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00" * 64)
    code, _, err = run(capsys, "tournament", str(corrupt), "forager")
    assert code == 2 and "corrupt.pt: not a readable checkpoint" in err
    code, _, err = run(
        capsys, "tournament", str(checkpoints["one"]), str(checkpoints["narrow"]), "--ticks", "2"
    )
    assert code == 2 and "narrow" in err and "observe.n_entities" in err


def test_a_recipe_with_unknown_keys_exits_2(tmp_path, capsys):
    recipe = tmp_path / "r.toml"
    recipe.write_text('name = "r"\nspeed = 3\n[[arm]]\nname = "a"\n')
    code, _, err = run(capsys, "experiment", str(recipe))
    assert code == 2 and "unknown key(s) speed" in err
