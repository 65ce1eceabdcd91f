"""The neural-mmo command line: config resolution, maps, short runs, docs, and config errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from neural_mmo.cli import build_parser, main
from neural_mmo.config import Config
from neural_mmo.docs import observation_markdown, rules_markdown


def test_config_prints_the_resolved_values(capsys, tmp_path):
    toml = tmp_path / "over.toml"
    toml.write_text("[episode]\nhorizon = 77\n")
    argv = [
        "config",
        "--preset",
        "small",
        "--config",
        str(toml),
        "--set",
        "spawn.n_agents=3",
        "--set",
        "vitals.immortal=true",
        "--set",
        "resources.food_regrow_prob=0.05",
    ]
    assert main(argv) == 0
    lines = _config_lines(capsys)
    assert lines["map.size"] == "64"
    assert lines["spawn.n_agents"] == "3"
    assert lines["vitals.immortal"] == "true"
    assert lines["resources.food_regrow_prob"] == "0.05"
    assert lines["episode.horizon"] == "77"
    assert lines["spawn.mode"] == '"continuous"'
    assert lines["npc.n_npcs"] == "32"  # the small preset's NPCs
    assert lines["combat.melee_range"] == "1" and lines["progression.max_level"] == "99"


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["config", "--set", "bogus=1"], "bogus"),
        (["config", "--set", "spawn.n_agents"], "group.field=value"),
        (["config", "--set", "spawn.n_agents=many"], "spawn.n_agents"),
        (["config", "--set", "map.border=2"], "map.border"),
        (["map", "--set", "vitals.max_health=0", "--out", "never.png"], "vitals.max_health"),
    ],
)
def test_config_errors_exit_2_with_a_message(capsys, monkeypatch, tmp_path, argv, fragment):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert list(tmp_path.iterdir()) == []
    err = capsys.readouterr().err
    assert "neural-mmo: error:" in err and fragment in err


def test_unknown_preset_is_an_argparse_error():
    with pytest.raises(SystemExit) as exc:
        main(["config", "--preset", "tiny"])
    assert exc.value.code == 2


def test_map_writes_a_png_of_the_grid(tmp_path, capsys):
    out = tmp_path / "maps" / "m.png"
    assert main(["map", "--preset", "small", "--set", "map.size=32", "--scale", "2", "--out", str(out)]) == 0
    image = np.asarray(Image.open(out))
    assert image.shape == ((32 + 16) * 2, (32 + 16) * 2, 3)
    text = capsys.readouterr().out
    assert "32x32 playable" in text
    shares = [float(part.split()[-1].rstrip("%")) for part in text.split(": ", 1)[1].split(", ")]
    assert len(shares) == 6 and abs(sum(shares) - 100.0) < 0.5


@pytest.mark.parametrize("agents", ["random", "forager", "fighter"])
def test_run_prints_a_json_summary(capsys, agents):
    argv = [
        "run",
        "--preset",
        "small",
        "--set",
        "map.size=16",
        "--set",
        "spawn.n_agents=8",
        "--ticks",
        "15",
        "--agents",
        agents,
        "--json",
        "--quiet",
        "--seed",
        "3",
    ]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["ticks"] == 15
    assert 0 < summary["population_max"] <= 8
    assert summary["agent_steps"] == pytest.approx(summary["population_mean"] * 15)
    assert summary["agents_seen"] >= summary["population_final"]
    assert summary["agents_seen"] == sum(summary["deaths"].values()) + summary["population_final"]
    kills = summary["kills_of_agents"] + summary["kills_of_npcs"]
    assert summary["events"].get("kill", 0) == kills
    assert summary["deaths"].get("combat", 0) == summary["kills_of_agents"]  # every agent killed died of it
    assert summary["hits"] <= summary["events"].get("attack", 0)
    assert summary["events"]["npc_spawn"] >= 32 and summary["top_level"] >= 1


def test_fighter_is_the_default_policy_and_fights(capsys):
    assert build_parser().parse_args(["run"]).agents == "fighter"
    argv = ["run", "--preset", "small", "--set", "map.size=16", "--set", "spawn.n_agents=8",
            "--ticks", "40", "--json", "--quiet", "--seed", "1"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["events"].get("attack", 0) > 0 and summary["hits"] > 0


def test_run_prints_a_table_with_the_combat_rows(capsys):
    argv = ["run", "--preset", "small", "--set", "map.size=16", "--set", "spawn.n_agents=8",
            "--ticks", "5", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    for row in ("events: attack", "events: kill", "events: level_up", "events: npc_spawn", "hits",
                "kills of agents", "kills of npcs", "top level"):  # fmt: skip
        assert row in out, row


def test_docs_command_writes_the_generated_pages(tmp_path, capsys):
    assert main(["docs", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "rules.md").read_text() == rules_markdown()
    assert (tmp_path / "observation.md").read_text() == observation_markdown()


def test_parser_lists_every_command():
    parser = build_parser()
    for command in ("run", "map", "bench", "config", "docs"):
        args = parser.parse_args([command] if command != "docs" else ["docs", "--out", "x"])
        assert args.command == command


def _config_lines(capsys) -> dict[str, str]:
    """``neural-mmo config`` output (TOML tables) as ``{"group.field": "value as printed"}``."""
    lines, group = {}, ""
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("["):
            group = line.strip("[]")
        elif " = " in line:
            name, value = line.split(" = ", 1)
            lines[f"{group}.{name}"] = value
    return lines


def test_a_preset_named_in_the_toml_file_applies(capsys, tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('preset = "small"\n[episode]\nhorizon = 77\n')
    assert build_parser().parse_args(["config"]).preset is None  # no default that would override it
    assert main(["config", "--config", str(toml)]) == 0
    lines = _config_lines(capsys)
    assert lines["map.size"] == "64" and lines["spawn.n_agents"] == "64" and lines["episode.horizon"] == "77"
    assert main(["config", "--config", str(toml), "--preset", "small"]) == 0  # the same preset twice
    assert _config_lines(capsys)["map.size"] == "64"
    assert main(["config"]) == 0  # neither: medium
    assert _config_lines(capsys)["map.size"] == "128"
    plain = tmp_path / "plain.toml"
    plain.write_text("[episode]\nhorizon = 77\n")
    assert main(["config", "--config", str(plain), "--preset", "large"]) == 0
    assert _config_lines(capsys)["map.size"] == "1024"
    assert main(["config", "--config", str(plain)]) == 0  # a file without a preset starts from the defaults
    assert _config_lines(capsys)["map.size"] == "128"


def test_a_preset_conflicting_with_the_toml_file_exits_2(capsys, monkeypatch, tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('preset = "small"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["config", "--config", str(toml), "--preset", "medium"]) == 2
    err = capsys.readouterr().err
    assert "neural-mmo: error:" in err and "'small'" in err and "'medium'" in err
    assert main(["map", "--config", str(toml), "--preset", "large", "--out", "never.png"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.toml"]


@pytest.mark.parametrize(
    "argv",
    [
        ["map", "--seed", "-1"],
        ["map", "--seed", "abc"],
        ["map", "--seed", "1.5"],
        ["run", "--worlds", "0"],
        ["run", "--worlds", "two"],
        ["run", "--ticks", "0"],
        ["bench", "--ticks", "0"],
        ["bench", "--repeats", "0"],
        ["bench", "--repeats", "x"],
        ["map", "--scale", "0"],
        ["map", "--scale", "-2"],
    ],
    ids=" ".join,
)
def test_bad_integer_arguments_are_argparse_errors(capsys, monkeypatch, tmp_path, argv):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {argv[1]}" in err and ("minimum" in err or "not an integer" in err)
    assert list(tmp_path.iterdir()) == []


def test_integer_arguments_at_their_minimum_are_accepted():
    parser = build_parser()
    assert parser.parse_args(["map", "--seed", "0"]).seed == 0
    args = parser.parse_args(["run", "--worlds", "1", "--ticks", "1"])
    assert (args.worlds, args.ticks) == (1, 1)
    args = parser.parse_args(["bench", "--ticks", "1", "--repeats", "1"])
    assert (args.ticks, args.repeats) == (1, 1)
    assert parser.parse_args(["map", "--scale", "1"]).scale == 1


def test_run_plays_several_episodes_when_ticks_exceed_the_horizon(capsys):
    argv = ["run", "--preset", "small", "--set", "map.size=16", "--set", "spawn.n_agents=8",
            "--set", "episode.horizon=10", "--ticks", "25", "--json", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["ticks"] == 25
    assert summary["episodes"] == 3  # two full horizons, then the third one cut by --ticks
    assert summary["lifetime_max"] <= 10
    assert summary["events"]["spawn"] == summary["agents_seen"]  # spawns at each reset counted too


def test_config_prints_toml_that_reads_back_and_json_on_request(tmp_path, capsys):
    assert main(["config", "--preset", "small", "--set", "spawn.mode=concurrent"]) == 0
    path = tmp_path / "out.toml"
    path.write_text(capsys.readouterr().out)
    assert Config.from_toml(path) == Config.preset("small").override({"spawn.mode": "concurrent"})
    assert main(["config", "--preset", "small", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["map"]["size"] == 64


def test_map_refuses_an_output_that_is_not_png(tmp_path, capsys):
    assert main(["map", "--preset", "small", "--out", str(tmp_path / "map.txt")]) == 2
    assert "ending in .png" in capsys.readouterr().err
    assert not (tmp_path / "map.txt").exists()


def test_serve_stops_after_seconds_and_prints_the_address(capsys):
    pytest.importorskip("websockets")
    assert main(["serve", "--preset", "small", "--port", "0", "--seconds", "0.5"]) == 0
    err = capsys.readouterr().err
    assert "viewer: http://127.0.0.1:" in err and "for 0.5 s" in err


# ---------------------------------------------------------------------- bad input: exit 2, never a traceback

DEEP = "[episode]\nhorizon = " + "[" * 10_000 + "]" * 10_000 + "\n"


def _write(folder, name: str, text: str):
    path = folder / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "command,text,fragment",
    [
        ("config", DEEP, "nested 10000 levels deep"),
        ("run", DEEP, "nested 10000 levels deep"),
        ("map", DEEP, "nested 10000 levels deep"),
        ("train", "lr = " + "[" * 10_000 + "]" * 10_000 + "\n", "nested 10000 levels deep"),
        ("train", "[game]\n" + ".".join(["a"] * 100) + " = 1\n", "nested more than"),
        ("config", "preset = [1]\n", "preset: [1] is an array"),
        ("config", "[preset]\nname = 'small'\n", "preset: {'name': 'small'} is a table"),
        ("run", "preset = 7\n", "preset: 7 is an int"),
        ("config", "[episode]\nhorizon = [1, 2]\n", "episode.horizon"),
        ("config", "[episode]\nhorizon = {a = 1}\n", "episode.horizon"),
        ("config", "[map]\nsize = 'x' # ] ] ]\n", "map.size"),
    ],
)
def test_bad_toml_files_exit_2_with_one_message(capsys, tmp_path, command, text, fragment):
    path = _write(tmp_path, "bad.toml", text)
    extra = {
        "run": ["--ticks", "1", "--quiet"],
        "map": ["--out", str(tmp_path / "m.png")],
        "train": ["--total-steps", "64", "--worlds", "1", "--out", str(tmp_path / "run"), "--quiet"],
    }.get(command, [])
    assert main([command, "--config", path, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neural-mmo: error:") and fragment in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["train", "--set", "lr=abc"], "lr: 'abc' has type str; expected float"),
        (["train", "--lr", "abc"], "lr: 'abc' has type str"),
        (["train", "--set", "worlds=1.5"], "worlds: 1.5 has type float"),
        (["train", "--set", "anneal_lr=maybe"], "anneal_lr"),
        (["train", "--set", "preset=[1]"], "preset"),
        (["train", "--set", "seed=-1"], "seed"),
        (["train", "--set", "=3"], "expected key=value"),
        (["config", "--set", "=3"], "expected group.field=value"),
        (["config", "--set", "horizon=5", "--set", "horizon=6"], "given twice"),
    ],
)
def test_bad_settings_exit_2_with_one_message(capsys, tmp_path, argv, fragment):
    if argv[0] == "train":  # were a bad value accepted, the run would be short and land in tmp_path
        argv = [*argv, "--total-steps", "64", "--worlds", "1", "--out", str(tmp_path / "run"), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "neural-mmo: error:" in err and fragment in err and "Traceback" not in err


def test_a_seed_that_does_not_fit_64_bits_is_an_argparse_error(capsys, tmp_path):
    record = tmp_path / "x.replay"
    with pytest.raises(SystemExit) as exc:
        main(["run", "--seed", str(2**64), "--record", str(record), "--quiet"])
    assert exc.value.code == 2
    assert "argument --seed: 18446744073709551616 is above the maximum" in capsys.readouterr().err
    assert not record.exists()
    assert build_parser().parse_args(["run", "--seed", str(2**64 - 1)]).seed == 2**64 - 1
    with pytest.raises(SystemExit):
        main(["map", "--seed", "9" * 5000])  # a huge string is refused without converting it
    assert "is not an integer" in capsys.readouterr().err


def test_a_replay_whose_header_config_is_nested_deep_exits_2(capsys, tmp_path):
    from replay._replay_runs import reheader

    from neural_mmo.agents import record_scripted_run

    small = Config.preset("small").override({"map.size": 16})
    path = record_scripted_run(tmp_path / "ok.replay", small, 1, 2)
    deep = tmp_path / "deep.replay"
    deep.write_bytes(reheader(path.read_bytes(), config=DEEP.encode()))
    assert main(["video", str(deep), str(tmp_path / "out.gif")]) == 2
    assert "nested 10000 levels deep" in capsys.readouterr().err
    pytest.importorskip("websockets")
    assert main(["view", str(deep), "--port", "0", "--seconds", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "nested 10000 levels deep" in err and "Traceback" not in err


FIFO_COMMANDS = [
    ["config", "--config", "{fifo}"],
    ["run", "--config", "{fifo}", "--ticks", "1", "--quiet"],
    ["train", "--config", "{fifo}"],
    ["view", "{fifo}", "--port", "0", "--seconds", "0.1"],
    ["video", "{fifo}", "{folder}/out.gif"],
]


@pytest.mark.parametrize("argv", FIFO_COMMANDS, ids=lambda argv: argv[0] + " " + argv[1])
def test_a_fifo_is_refused_without_hanging(tmp_path, argv):
    import os
    import subprocess
    import sys

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    args = [a.format(fifo=fifo, folder=tmp_path) for a in argv]
    done = subprocess.run([sys.executable, "-m", "neural_mmo.cli", *args], capture_output=True, text=True,
                          timeout=30, env=os.environ.copy())  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "not a regular file" in done.stderr and "FIFO" in done.stderr
    assert "Traceback" not in done.stderr


def test_config_prints_the_memory_it_needs(capsys):
    from neural_mmo.envs.memory import estimate_memory

    assert main(["config", "--preset", "small", "--worlds", "3"]) == 0
    out = capsys.readouterr().out
    estimate = estimate_memory(Config.preset("small"), 3)
    assert out.splitlines()[0] == f"# {estimate.describe()}"
    assert "3 worlds:" in out
    assert main(["config", "--preset", "small", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["map"]["size"] == 64
    assert estimate_memory(Config.preset("small")).describe() in captured.err


def test_a_config_over_the_memory_limit_is_reported_and_refused(capsys, monkeypatch):
    from neural_mmo.envs.memory import ENV_VAR

    monkeypatch.setenv(ENV_VAR, "1e-9")
    assert main(["config", "--preset", "small"]) == 0
    assert "over the memory limit" in capsys.readouterr().out
    assert main(["run", "--preset", "small", "--ticks", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "memory_limit=1e-09" in err and ENV_VAR in err and "Traceback" not in err
