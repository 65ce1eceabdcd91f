"""``neural-mmo``: run, map, bench, serve, view, train, eval, tournament, analyze, experiment,
config, docs, video.

Every command takes ``--preset``, ``--config FILE.toml`` and repeated ``--set group.field=value``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from neural_mmo.config import PRESETS, Config, ConfigError, set_pairs


def _config(args: argparse.Namespace, base: Config | None = None) -> Config:
    """The config of ``--preset``, ``--config`` and ``--set``; with ``base``, those change ``base``."""
    if base is not None:
        cfg = base.override(PRESETS[args.preset]) if args.preset else base
        if args.config:
            cfg = Config.from_toml(args.config, base=cfg)
    elif args.config:
        cfg = Config.from_toml(args.config, preset=args.preset)
    else:
        cfg = Config.preset(args.preset or "medium")
    return cfg.override(set_pairs(args.set, "group.field=value"))


def _label(args: argparse.Namespace) -> str:
    """What the run is configured from, for titles: the preset, else the TOML file."""
    return args.preset or args.config or "medium"


MAX_SEED = 2**64 - 1
"""Largest ``--seed``: replays and saves store the seed in 64 bits."""


def _count(minimum: int, maximum: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text) if len(text) <= 64 else None
        except ValueError:
            value = None
        if value is None:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not an integer")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below the minimum {minimum}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{value} is above the maximum {maximum}")
        return value

    return parse


def _common(p: argparse.ArgumentParser, seed: bool = True) -> None:
    p.add_argument("--preset", choices=list(PRESETS), help="starting configuration (default: medium)")
    p.add_argument(
        "--config", metavar="FILE", help="TOML file of overrides ([group] tables, optional preset)"
    )
    p.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override, e.g. resources.food_regrow_prob=0.05"
    )
    if seed:
        p.add_argument("--seed", type=_count(0, MAX_SEED), default=0, help="world seed (default 0)")


# ---------------------------------------------------------------------- run


def cmd_run(args: argparse.Namespace) -> int:
    import numpy as np
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from neural_mmo.agents import Player, make_policy
    from neural_mmo.envs.vector import VecEnv
    from neural_mmo.render import material_rgb, save_png
    from neural_mmo.stats import RunStats

    console = Console(stderr=True)
    checkpoint = None
    if args.policy:
        from neural_mmo.train.cli import load_policy

        checkpoint = load_policy(args.policy, "--policy", seed=args.seed)
        if checkpoint is None:
            return 2
    cfg = _config(args, base=checkpoint.game_config if checkpoint is not None else None)
    ticks = args.ticks or (1024 if cfg.episode.persistent else cfg.episode.horizon)
    vec = VecEnv(args.worlds, config=cfg, seed=args.seed)
    if checkpoint is not None:
        policy = load_policy(args.policy, "--policy", layout=vec.layout, seed=args.seed)
        if policy is None:  # the config changed what the models see or do
            return 2
        who = "trained"
        label = args.preset or args.config or f"the game of {args.policy}"
    else:
        label = _label(args)
        who = args.agents
        policy = make_policy(who, vec.layout, seed=args.seed)
    stats = RunStats()
    player = Player(vec, policy, stats)
    player.reset()
    if args.map_png:
        console.print(f"map: {save_png(material_rgb(vec.worlds[0].material, 4), args.map_png)}")
    recorder = None
    if args.record:
        from neural_mmo.replay import EpisodeRecorder

        try:
            recorder = EpisodeRecorder(args.record, cfg, args.seed)  # world 0, a file per episode
            recorder.follow(vec.worlds[0])
        except OSError as err:
            print(f"neural-mmo: error: --record {args.record}: {err}", file=sys.stderr)
            return 2
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("alive {task.fields[alive]}"), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=console, disable=args.quiet) as progress:
        task = progress.add_task(f"{who} x {label}", total=ticks, alive=int(vec.alive.sum()))
        for _ in player.run(ticks):
            if recorder is not None:
                recorder.follow(vec.worlds[0])
            progress.update(task, advance=1, alive=int(vec.alive.sum()))
    player.finish()
    if recorder is not None:
        recorder.close()
        more = f" (+{len(recorder.paths) - 1} later episodes)" if len(recorder.paths) > 1 else ""
        console.print(f"replay: {recorder.paths[0]}{more}")
    summary = stats.summary()
    if args.json:
        print(json.dumps(summary))
        return 0
    Console().print(
        f"[bold]{who} agents, {label}, {summary['ticks']} ticks, "
        f"{summary['episodes']} episode(s), seed {args.seed}"
    )
    table = Table()
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in ("agent_steps", "agents_seen", "lifetime_mean", "lifetime_max",
                "population_mean", "population_min", "population_max", "population_final"):  # fmt: skip
        value = summary[key]
        table.add_row(key.replace("_", " "), f"{value:.1f}" if isinstance(value, float) else str(value))
    for cause, count in sorted(summary["deaths"].items()):  # type: ignore[union-attr,attr-defined]
        table.add_row(f"deaths: {cause}", str(count))
    for kind in ("eat", "drink", "move", "spawn", "attack", "kill", "level_up", "npc_spawn"):
        table.add_row(f"events: {kind}", str(summary["events"].get(kind, 0)))  # type: ignore[union-attr,attr-defined]
    for key in ("hits", "kills_of_agents", "kills_of_npcs", "top_level"):
        table.add_row(key.replace("_", " "), str(summary[key]))
    if cfg.item.enabled:
        economy: dict[str, Any] = summary["economy"]  # type: ignore[assignment]
        for key in ("gold_earned", "equips", "consumed", "gifts", "listings", "sales", "market_volume"):
            table.add_row(key.replace("_", " "), str(economy[key]))
        table.add_row("market price mean", f"{economy['market_price_mean']:.1f}")
        made = ", ".join(f"L{level}: {count}" for level, count in economy["items_made_by_level"].items())
        table.add_row("items made by level", made or "-")
    Console().print(table)
    pop = np.array(stats.population)
    if pop.size:
        Console().print("population over time: " + _sparkline(pop, width=60))
    return 0


def _sparkline(values: Any, width: int) -> str:
    import numpy as np

    chunks = np.array_split(np.asarray(values, float), min(width, len(values)))
    means = np.array([c.mean() for c in chunks])
    bars = " ▁▂▃▄▅▆▇█"
    top = max(means.max(), 1.0)
    return (
        "".join(bars[int(round(m / top * (len(bars) - 1)))] for m in means) + f"  (max {int(values.max())})"
    )


# ---------------------------------------------------------------------- map


def cmd_map(args: argparse.Namespace) -> int:
    import numpy as np

    from neural_mmo.render import material_rgb, save_png
    from neural_mmo.world.materials import Material, materials_in_play
    from neural_mmo.world.rng import episode_seed, terrain_generator
    from neural_mmo.world.terrain import generate_terrain

    if not args.out.lower().endswith(".png"):
        raise ConfigError(f"--out {args.out!r}: the map is written as PNG; give a file name ending in .png")
    cfg = _config(args)
    material = generate_terrain(cfg, terrain_generator(episode_seed(args.seed, 0, 0)))
    out = save_png(material_rgb(material, args.scale), args.out)
    b, n = cfg.map.border, cfg.map.size
    inner = material[b : b + n, b : b + n]
    in_play = materials_in_play(cfg.profession.enabled)
    counts = np.bincount(inner.ravel(), minlength=in_play) / inner.size
    shares = ", ".join(f"{Material(m).name.lower()} {counts[m]:.1%}" for m in range(in_play))
    print(f"wrote {out} ({n}x{n} playable, seed {args.seed}): {shares}")
    return 0


# ---------------------------------------------------------------------- bench


def cmd_bench(args: argparse.Namespace) -> int:
    from neural_mmo.bench import run_benchmarks

    result = run_benchmarks(_config(args), ticks=args.ticks, repeats=args.repeats, preset=_label(args),
                            scaling=args.scaling, workers=args.workers)  # fmt: skip
    if not args.json:
        for key, value in result.items():
            if key != "scaling":
                print(f"{key:48s} {value}")
        if "scaling" in result:
            print("\nVecEnv agent-steps/s, one core (rows: map size; columns: agents, NPCs as many)")
            agents = sorted({row["agents"] for row in result["scaling"]})
            print("map   " + "".join(f"{a:>11d}" for a in agents))
            for size in sorted({row["map_size"] for row in result["scaling"]}):
                cells = {
                    row["agents"]: row["agent_steps_per_s"]
                    for row in result["scaling"]
                    if row["map_size"] == size
                }
                print(f"{size:<6d}" + "".join(f"{cells[a]:>11,d}" for a in agents))
    else:
        print(json.dumps(result))
    return 0


# ---------------------------------------------------------------------- video


def cmd_video(args: argparse.Namespace) -> int:
    from neural_mmo.replay import ReplayError
    from neural_mmo.replay.video import VideoError, write_video

    try:
        frames = write_video(args.replay, args.out, scale=args.scale, fps=args.fps, ticks=args.ticks)
    except (ReplayError, VideoError) as err:
        print(f"neural-mmo: error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({frames} ticks at {args.fps} fps)")
    return 0


# ---------------------------------------------------------------------- serve, view


def _serve(server_args: argparse.Namespace, source: Any) -> int:
    import asyncio

    from neural_mmo.viewer.server import ViewerServer

    try:
        server = ViewerServer(
            source, host=server_args.host, port=server_args.port, fps=server_args.fps,
            allow_hosts=server_args.allow_host, allow_origins=server_args.allow_origin,
        )  # fmt: skip
    except ValueError as err:
        source.close()
        print(f"neural-mmo: error: {err}", file=sys.stderr)
        return 2
    seconds = server_args.seconds

    def ready(srv: Any) -> None:
        until = f"for {seconds:g} s, or Ctrl-C" if seconds else "Ctrl-C to stop"
        print(f"viewer: http://{srv.host}:{srv.port}/  ({until})", file=sys.stderr, flush=True)
        if seconds:
            asyncio.get_running_loop().call_later(seconds, srv.stop)

    server.on_ready = ready
    try:
        asyncio.run(server.serve_forever())
    except KeyboardInterrupt:
        pass
    except OSError as err:
        print(
            f"neural-mmo: error: cannot serve on {server_args.host}:{server_args.port}: {err}",
            file=sys.stderr,
        )
        return 2
    finally:
        source.close()
    return 0


def _viewer_server() -> Any:
    """The viewer's server module, or None (after saying which extra to install)."""
    try:
        from neural_mmo.viewer import server
    except ImportError as err:
        print(
            f"neural-mmo: error: the viewer needs pip install 'neural-mmo[viewer]' ({err})", file=sys.stderr
        )
        return None
    return server


def cmd_serve(args: argparse.Namespace) -> int:
    server = _viewer_server()
    if server is None:
        return 2
    if not args.policy:
        resumed = _resumed(args, _config(args))
        if resumed is None:
            return 2
        source = server.LiveSource(resumed[0], agents=args.agents, seed=args.seed)
        return _serve(args, source) if _persist(args, source, resumed[1]) else 2
    from neural_mmo.train.cli import load_policy

    policy = load_policy(args.policy, "--policy", seed=args.seed)
    if policy is None:
        return 2
    from neural_mmo.train.overlays import register_model_overlays

    # the checkpoint's own game; --preset, --config and --set change it only where the models
    # still fit (the same observations and actions)
    trained = policy.game_config
    resumed = _resumed(args, _config(args, base=trained))
    if resumed is None:
        return 2
    cfg = resumed[0]
    try:
        source = server.LiveSource(cfg, agents=policy, seed=args.seed)
    except ValueError as err:
        now = dict(cfg.items())
        changed = [f"{key} {value!r} -> {now[key]!r}" for key, value in trained.items() if now[key] != value]
        print(
            f"neural-mmo: error: {args.policy} cannot play this game: {err}"
            + (f" (changed from the checkpoint's game: {', '.join(changed)})" if changed else ""),
            file=sys.stderr,
        )
        return 2
    register_model_overlays(policy)
    return _serve(args, source) if _persist(args, source, resumed[1]) else 2


def _resumed(args: argparse.Namespace, cfg: Config) -> tuple[Config, Any] | None:
    """``(config, save)`` of ``serve``: ``--persistent`` applied, or the ``--resume`` save's own
    config (the world continues as saved); None after printing why not."""
    from neural_mmo.world.snapshot import SaveError, read_save

    if args.save_every and not (args.save or args.resume):
        print("neural-mmo: error: --save-every needs --save FILE or --resume FILE", file=sys.stderr)
        return None
    if args.persistent:
        cfg = cfg.override({"episode.persistent": True})
    if not args.resume:
        return cfg, None
    try:
        save = read_save(args.resume, ("live", "vec"))
    except SaveError as err:
        print(f"neural-mmo: error: --resume: {err}", file=sys.stderr)
        return None
    if save.config != cfg:
        print("neural-mmo: note: --resume: the world keeps the config it was saved with", file=sys.stderr)
    return save.config, save


def _persist(args: argparse.Namespace, source: Any, save: Any) -> bool:
    """Restore a ``--resume`` save into the live source and start its periodic saving."""
    from neural_mmo.world.snapshot import SaveError

    if save is not None:
        try:
            source.restore(save)
        except SaveError as err:
            print(f"neural-mmo: error: --resume: {err}", file=sys.stderr)
            source.close()
            return False
        print(f"resumed {args.resume} at tick {source.state.tick}", file=sys.stderr)
    if args.save_every:
        source.enable_saving(args.save or args.resume, args.save_every)
    return True


def cmd_view(args: argparse.Namespace) -> int:
    from neural_mmo.replay import ReplayError

    server = _viewer_server()
    if server is None:
        return 2
    try:
        source = server.ReplaySource(args.replay)
    except (ReplayError, OSError) as err:
        print(f"neural-mmo: error: {err}", file=sys.stderr)
        return 2
    return _serve(args, source)


def _who(p: argparse.ArgumentParser, overlays: bool = False) -> None:
    """``--agents`` (scripted) or ``--policy`` (a checkpoint, or ``pretrained``)."""
    who = p.add_mutually_exclusive_group()
    who.add_argument("--agents", default="fighter", choices=["fighter", "forager", "merchant", "random"],
                     help="scripted policy (default fighter)")  # fmt: skip
    who.add_argument(
        "--policy",
        metavar="CHECKPOINT",
        help="trained agents from a checkpoint of neural-mmo train (or a shipped one: 'pretrained', "
        "'pretrained-economy'), on the checkpoint's game (--preset, --config and --set change it where "
        "the models still fit)" + ("; adds the model overlays" if overlays else ""),
    )


def _server_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=_count(0), default=8765, help="port (default 8765; 0: any free port)")
    p.add_argument("--fps", type=_count(1), default=10, help="ticks per second (default 10)")
    p.add_argument("--seconds", type=float, default=0.0, help="stop after this long (0: until Ctrl-C)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME[:PORT]",
                   help="also accept this Host (repeatable; default: 127.0.0.1, localhost, [::1] and --host; "
                   "'*': any)")  # fmt: skip
    p.add_argument("--allow-origin", action="append", default=[], metavar="URL",
                   help="also accept browser pages from this origin, e.g. https://viewer.example.com "
                   "(repeatable; default: this server's own pages; '*': any)")  # fmt: skip


# ---------------------------------------------------------------------- research


def _research(what: str) -> Any:
    """The research package, or None (after saying which extras to install)."""
    import importlib.util

    missing = [m for m in ("matplotlib", "openskill", "torch") if importlib.util.find_spec(m) is None]
    if missing:
        print(
            f"neural-mmo: error: {what} needs pip install 'neural-mmo[train,research]' (missing: "
            f"{', '.join(missing)})",
            file=sys.stderr,
        )
        return None
    import neural_mmo.research as research

    return research


def _maybe_config(args: argparse.Namespace, base: Config) -> Config | None:
    """The game of ``--preset``, ``--config`` and ``--set`` applied to ``base``; None if none given."""
    if not (args.preset or args.config or args.set):
        return None
    return _config(args, base=base)


def cmd_tournament(args: argparse.Namespace) -> int:
    research = _research("tournament")
    if research is None:
        return 2
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    entrants = [research.load_entrant(spec) for spec in args.entrants]
    base = next((e.game for e in entrants if e.game is not None), None) or Config.preset("small")
    game = _maybe_config(args, base)
    ticks = args.ticks or (game or base).episode.horizon
    from neural_mmo.research.tournament import prepare

    prepare(entrants, agents=args.agents, worlds=args.worlds, ticks=ticks, rounds=args.rounds, game=game)
    columns = (TextColumn("[bold]tournament"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), disable=args.quiet or args.json) as progress:
        task = progress.add_task("", total=ticks * args.rounds)
        result = research.run_tournament(
            entrants, agents=args.agents, worlds=args.worlds, ticks=ticks, rounds=args.rounds, seed=args.seed,
            game=game, on_tick=lambda n: progress.update(task, completed=n),
        )  # fmt: skip
    paths = result.save(args.out, plot=not args.no_plot)
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    Console().print(result.table())
    Console().print(result.markdown().split("\n\n", 1)[1])
    print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    research = _research("analyze")
    if research is None:
        return 2
    maps = tuple(m for m in args.maps.split(",") if m)
    entrant = research.load_entrant(args.policy)
    base = entrant.game or Config.preset("small")
    game = _maybe_config(args, base)
    result = research.analyze(args.policy, args.out, maps=maps, worlds=args.worlds, ticks=args.ticks,
                              seed=args.seed, map_seed=args.map_seed, game=game)  # fmt: skip
    if args.json:
        print(json.dumps(result))
        return 0
    for key, value in result.items():
        print(f"{key:28s} {value}")
    print(f"wrote the maps to {args.out}/")
    return 0


def cmd_experiment(args: argparse.Namespace) -> int:
    research = _research("experiment")
    if research is None:
        return 2
    names = research.recipe_names()
    if args.list or not args.recipe:
        for name in names:
            recipe = research.load_recipe(name)
            print(f"{name:18s} {recipe.figure}: {' '.join(recipe.claim.split())[:160]}")
        return 0 if args.list else 2
    recipes = [research.load_recipe(n) for n in (names if args.recipe == "all" else [args.recipe])]
    for recipe in recipes:
        if args.smoke:
            recipe = research.smoke(recipe)
        out = Path(args.out) / recipe.name if args.out else Path("runs") / "experiments" / recipe.name
        result = research.run_experiment(
            recipe, out, scale=args.scale, log=None if args.quiet else lambda m: print(m, file=sys.stderr)
        )
        if args.json:
            print(json.dumps(result, default=str))
        else:
            print((out / "results.md").read_text())
    return 0


# ---------------------------------------------------------------------- config, docs


def cmd_config(args: argparse.Namespace) -> int:
    from neural_mmo.envs.memory import check_memory, estimate_memory

    cfg = _config(args)
    memory = estimate_memory(cfg, args.worlds).describe()
    try:
        check_memory(cfg, args.worlds)
    except ConfigError as err:
        memory += f"\n# over the memory limit, an env would refuse it: {err}"
    if args.json:
        print(json.dumps(cfg.to_dict()))
        print(memory, file=sys.stderr)
    else:
        print(f"# {memory}\n\n{cfg.to_toml()}")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from neural_mmo.docs import write_docs

    for path in write_docs(Path(args.out)):
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neural-mmo", description="Neural MMO: a massively multi-agent world."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="simulate with scripted or trained agents and print a summary")
    _common(p)
    _who(p)
    p.add_argument("--ticks", type=_count(1), help="ticks to run, across episodes (default: one horizon)")
    p.add_argument("--worlds", type=_count(1), default=1, help="worlds stepped together")
    p.add_argument("--map-png", metavar="FILE", help="also write the starting map as a PNG")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--record", metavar="FILE", help="write world 0 to a replay, a file per episode (FILE, FILE-1, ...)"
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("map", help="render a generated map to PNG")
    _common(p)
    p.add_argument("--out", default="map.png", help="output PNG (default map.png)")
    p.add_argument("--scale", type=_count(1), default=4, help="pixels per tile")
    p.set_defaults(func=cmd_map)

    p = sub.add_parser("bench", help="measure agent-steps per second")
    _common(p)
    p.add_argument("--ticks", type=_count(1), default=1000, help="ticks per timed run")
    p.add_argument("--repeats", type=_count(1), default=5, help="timed runs (the median is reported)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--scaling", action="store_true", help="also the table over agent counts and map sizes")
    p.add_argument(
        "--workers",
        type=_count(1),
        default=None,
        help="processes of the multi-core figure (default: all CPUs)",
    )
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("video", help="render a replay to an animated GIF (or MP4 with imageio-ffmpeg)")
    p.add_argument("replay", help="a replay file (neural-mmo run --record FILE)")
    p.add_argument("out", help="output file: .gif, or .mp4 when imageio and imageio-ffmpeg are installed")
    p.add_argument("--scale", type=_count(1), default=4, help="pixels per tile (default 4)")
    p.add_argument("--fps", type=_count(1), default=10, help="frames (ticks) per second (default 10)")
    p.add_argument("--ticks", metavar="A:B", help="ticks A up to (not including) B; either may be left out")
    p.set_defaults(func=cmd_video)

    p = sub.add_parser("serve", help="run a live world with scripted or trained agents in the browser viewer")
    _common(p)
    _who(p, overlays=True)
    _server_options(p)
    p.add_argument("--persistent", action="store_true", help="no horizon: the world runs forever")
    p.add_argument("--save-every", type=_count(1), metavar="N", help="save every N ticks (atomically)")
    p.add_argument("--save", metavar="FILE", help="where --save-every writes (default: the --resume file)")
    p.add_argument("--resume", metavar="FILE", help="continue the world saved in FILE (its config and seed)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("view", help="play a replay in the browser viewer")
    p.add_argument("replay", help="a replay file (neural-mmo run --record FILE)")
    _server_options(p)
    p.set_defaults(func=cmd_view)

    from neural_mmo.train.cli import add_eval, add_train

    add_train(sub)
    add_eval(sub)

    held_out = 1_000_003  # neural_mmo.research.tournament.HELD_OUT_SEED (imported when a command runs)
    p = sub.add_parser("tournament", help="merge the populations of checkpoints and scripted policies into "
                       "shared worlds and rank them (needs neural-mmo[train,research])")  # fmt: skip
    who = "a checkpoint ('pretrained', 'pretrained-economy': shipped), random, forager, fighter or merchant"
    p.add_argument("entrants", nargs="+", metavar="WHO", help=who)
    _common(p, seed=False)
    p.add_argument("--agents", type=_count(1), help="total population of each world (default: the game's)")
    p.add_argument("--worlds", type=_count(1), default=4, help="worlds per round, one match each (default 4)")
    p.add_argument("--ticks", type=_count(1), help="ticks per round (default: the horizon)")
    p.add_argument("--rounds", type=_count(1), default=2, help="rounds, each on new maps (default 2)")
    p.add_argument("--seed", type=_count(0, MAX_SEED), default=held_out, help="base seed (default: held out)")
    p.add_argument(
        "--out", default="runs/tournament", help="folder for the results (default runs/tournament)"
    )
    p.add_argument("--no-plot", action="store_true", help="no tournament.png")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_tournament)

    p = sub.add_parser("analyze", help="exploration, niche, dependency and attack maps of a policy "
                       "(needs neural-mmo[train,research])")  # fmt: skip
    p.add_argument("policy", help="a checkpoint (or 'pretrained') or a scripted policy")
    _common(p, seed=False)
    p.add_argument("--maps", default="exploration,niche,attacks,dependency", help="comma-separated maps")
    p.add_argument("--worlds", type=_count(1), default=4, help="worlds evaluated (default 4)")
    p.add_argument("--ticks", type=_count(1), help="ticks evaluated (default: the horizon)")
    p.add_argument("--seed", type=_count(0, MAX_SEED), default=held_out, help="base seed (default: held out)")
    p.add_argument("--map-seed", type=_count(0, MAX_SEED),
                   help="the fixed map (default: the game's own fixed map, else the seed's)")  # fmt: skip
    p.add_argument("--out", default="runs/analyze", help="folder for the maps (default runs/analyze)")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("experiment", help="one of the paper's experiments from a recipe: train the arms, "
                       "evaluate, hold a tournament, draw the maps (needs the research extra)")  # fmt: skip
    p.add_argument(
        "recipe", nargs="?", help="population-size, species, dependency, all, or a recipe TOML file"
    )
    p.add_argument("--list", action="store_true", help="list the shipped recipes")
    p.add_argument("--out", help="parent folder of the results (default runs/experiments)")
    p.add_argument("--scale", type=float, default=1.0, help="multiply every arm's training samples")
    p.add_argument("--smoke", action="store_true", help="a seconds-long check of the whole pipeline")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_experiment)

    p = sub.add_parser(
        "config", help="print the resolved configuration (TOML, or --json) and the memory it needs"
    )
    _common(p, seed=False)
    p.add_argument("--worlds", type=_count(1), default=1, help="worlds to size the memory for (default 1)")
    p.add_argument("--json", action="store_true", help="print JSON instead of TOML")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("docs", help="regenerate the rules and observation tables")
    p.add_argument("--out", default="docs", help="docs folder")
    p.set_defaults(func=cmd_docs)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; bad input (a ConfigError, ReplayError, CheckpointError or other ValueError, a
    file that cannot be read or written) is one line on stderr and exit code 2. Anything else is a
    bug and keeps its traceback."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, OSError) as err:
        print(f"neural-mmo: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
