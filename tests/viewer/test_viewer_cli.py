"""``neural-mmo serve`` and ``neural-mmo view``: arguments and errors (serving itself: test_server)."""

from __future__ import annotations

from neural_mmo.cli import build_parser, main


def test_serve_and_view_parse_with_local_defaults():
    args = build_parser().parse_args(["serve", "--preset", "small", "--agents", "forager", "--fps", "5"])
    assert (args.command, args.host, args.port, args.fps, args.agents) == (
        "serve",
        "127.0.0.1",
        8765,
        5,
        "forager",
    )
    args = build_parser().parse_args(["view", "run.replay", "--host", "0.0.0.0", "--port", "0"])
    assert (args.command, args.replay, args.host, args.port) == ("view", "run.replay", "0.0.0.0", 0)


def test_view_of_a_missing_or_corrupt_file_exits_2(tmp_path, capsys):
    assert main(["view", str(tmp_path / "missing.replay")]) == 2
    bad = tmp_path / "bad.replay"
    bad.write_bytes(b"not a replay at all")
    assert main(["view", str(bad)]) == 2
    assert "error" in capsys.readouterr().err


def test_allow_host_and_origin_options(tmp_path, capsys, monkeypatch):
    args = build_parser().parse_args(
        ["serve", "--allow-host", "viewer.example.com", "--allow-host", "proxy:443",
         "--allow-origin", "https://viewer.example.com"]
    )  # fmt: skip
    assert args.allow_host == ["viewer.example.com", "proxy:443"]
    assert args.allow_origin == ["https://viewer.example.com"]
    assert build_parser().parse_args(["view", "x.replay"]).allow_host == []
    # a bad entry is one clear error and exit code 2, before anything is served
    assert main(["serve", "--preset", "small", "--set", "map.size=16", "--allow-origin", "evil.com"]) == 2
    err = capsys.readouterr().err
    assert "allowed origin 'evil.com'" in err and "Traceback" not in err
