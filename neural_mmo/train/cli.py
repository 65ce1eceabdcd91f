"""The ``train`` and ``eval`` commands (argparse only here: PyTorch loads when they run)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from typing import Any

from neural_mmo.config import set_pairs
from neural_mmo.train.config import TrainConfig, parse_value


def add_train(sub: Any) -> None:
    p = sub.add_parser("train", help="train baseline models with PPO (needs neural-mmo[train])")
    p.add_argument(
        "--config", metavar="FILE", help="TOML file of training settings ([game] table: game overrides)"
    )
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="setting override, e.g. lr=1e-3 or game.resources.food_regrow_prob=0.05")  # fmt: skip
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue a run from its checkpoint")
    p.add_argument("--quiet", action="store_true", help="no live display")
    docs = TrainConfig.docs()
    for f in fields(TrainConfig):
        if f.name == "game":
            continue
        p.add_argument(f"--{f.name.replace('_', '-')}", dest=f"opt_{f.name}", metavar="V",
                       help=f"{docs[f.name]} (default {f.default!r})")  # fmt: skip
    p.set_defaults(func=cmd_train)


def add_eval(sub: Any) -> None:
    from neural_mmo.cli import MAX_SEED
    from neural_mmo.cli import _count as count

    p = sub.add_parser("eval", help="evaluate a checkpoint on held-out seeds next to the baselines")
    p.add_argument("checkpoint", help="a checkpoint of neural-mmo train")
    p.add_argument("--worlds", type=count(1), default=4, help="worlds (default 4)")
    p.add_argument("--episodes", type=count(1), default=1, help="episodes per world (default 1)")
    p.add_argument("--seed", type=count(0, MAX_SEED), help="base seed (default: the held-out seed)")
    p.add_argument("--baselines", default="random,forager,fighter", help="comma-separated scripted policies")
    p.add_argument("--greedy", action="store_true", help="most likely actions instead of sampling")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_eval)


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    pairs: dict[str, Any] = {}
    for f in fields(TrainConfig):
        value = getattr(args, f"opt_{f.name}", None)
        if value is not None:
            pairs[f.name] = value
    return {**pairs, **set_pairs(args.set, "key=value")}


def cmd_train(args: argparse.Namespace) -> int:
    try:
        from neural_mmo.train.trainer import Trainer
    except ImportError as err:
        print(f"neural-mmo: error: training needs pip install 'neural-mmo[train]' ({err})", file=sys.stderr)
        return 2
    try:
        pairs = _settings(args)
        if args.resume:
            trainer = Trainer.resume(args.resume, **pairs)
        else:
            base = TrainConfig.from_toml(args.config) if args.config else TrainConfig()
            trainer = Trainer(base.override(pairs))
    except (ValueError, OSError) as err:
        print(f"neural-mmo: error: {err}", file=sys.stderr)
        return 2
    print(f"training: {trainer.config.total_steps:,} agent-steps into {trainer.out}/ on {trainer.device} "
          f"with {trainer.threads} torch threads, worlds on {trainer.backend_description} "
          f"(tensorboard --logdir {trainer.out}/tensorboard)", file=sys.stderr)  # fmt: skip
    try:
        trainer.train(progress=not args.quiet)
    except KeyboardInterrupt:
        path = trainer.save()
        print(f"interrupted: saved {path}", file=sys.stderr)
    finally:
        trainer.close()
    last = trainer.history[-1] if trainer.history else {}
    print(json.dumps({k: v for k, v in last.items() if k.startswith(("env/", "deaths_per_agent/", "perf/"))}))
    return 0


def load_policy(path: str, what: str, **kwargs: Any) -> Any:
    """A checkpoint's TrainedPolicy, or None after saying why not (PyTorch missing, a bad file)."""
    try:
        from neural_mmo.train.checkpoint import CheckpointError, TrainedPolicy
    except ImportError as err:
        print(f"neural-mmo: error: {what} needs pip install 'neural-mmo[train]' ({err})", file=sys.stderr)
        return None
    try:
        return TrainedPolicy(path, **kwargs)
    except (CheckpointError, ValueError) as err:
        print(f"neural-mmo: error: {err}", file=sys.stderr)
        return None


def cmd_eval(args: argparse.Namespace) -> int:
    policy = load_policy(args.checkpoint, "evaluation", greedy=args.greedy)
    if policy is None:
        return 2
    from neural_mmo.train.evaluate import HELD_OUT_SEED, compare, table

    baselines = tuple(b for b in args.baselines.split(",") if b)
    seed = HELD_OUT_SEED if args.seed is None else args.seed
    results = compare(
        policy, policy.game_config, baselines, seed=seed, worlds=args.worlds, episodes=args.episodes
    )
    if args.json:
        print(json.dumps(results))
    else:
        from rich.console import Console

        Console().print(table(results, economy=policy.game_config.item.enabled))
    return 0


__all__ = ["add_eval", "add_train", "load_policy", "parse_value"]
