"""Learning curves from a run's ``metrics.jsonl`` (matplotlib, extra ``[train]``).

    python -m neural_mmo.train.plot runs/train out.png [--baseline-lifetime 10.0 --baseline-lava 0.79]

    python -m neural_mmo.train.plot out.png --compare LABEL=RUN LABEL=RUN ...

Two panels over wall-clock minutes: the mean lifetime of the agents that died in each iteration,
and lava deaths per dead agent, both averaged over ``smooth`` iterations (16 rollouts of 64 ticks
are one 1,024-tick episode: lifetimes rise within each episode, since agents that die late were
born early); dashed lines mark a baseline (e.g. the random policy's values from
``neural-mmo eval``) when given. ``--compare`` draws several runs' smoothed lifetimes side by
side, over agent-steps (which learns more from the same samples) and over minutes (which learns
faster by the clock).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def read_metrics(run: str | Path) -> list[dict[str, float]]:
    path = Path(run)
    if path.is_dir():
        path = path / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _timed_rows(run: str | Path) -> list[dict[str, float]]:
    """The run's metrics rows that carry a wall-clock time (a ValueError when none do)."""
    rows = [r for r in read_metrics(run) if "train/wall_seconds" in r]
    if not rows:
        raise ValueError(f"{run}: no metrics with train/wall_seconds")
    return rows


def _smooth(values: list[float], k: int) -> list[float]:
    out, window = [], []
    for v in values:
        window.append(v)
        if len(window) > k:
            window.pop(0)
        out.append(sum(window) / len(window))
    return out


def plot(run: str | Path, out: str | Path, baseline_lifetime: float | None = None,
         baseline_lava: float | None = None, title: str | None = None, smooth: int = 16) -> Path:  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _timed_rows(run)
    minutes = [r["train/wall_seconds"] / 60 for r in rows]
    lifetime = _smooth([r["env/lifetime_mean"] for r in rows], smooth)
    lava = _smooth([r["deaths_per_agent/lava"] for r in rows], smooth)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    top.plot(minutes, lifetime, label=f"trained (agents that died; mean of {smooth} iterations)")
    bottom.plot(minutes, lava, color="tab:red", label="trained")
    if baseline_lifetime is not None:
        top.axhline(baseline_lifetime, ls="--", color="grey", label="random policy")
        top.axhline(3 * baseline_lifetime, ls=":", color="grey", label="3x random")
    if baseline_lava is not None:
        bottom.axhline(baseline_lava, ls="--", color="grey", label="random policy")
        bottom.axhline(0.2 * baseline_lava, ls=":", color="grey", label="-80%")
    top.set_ylabel("mean lifetime (ticks)")
    bottom.set_ylabel("lava deaths per agent that died")
    bottom.set_xlabel("training time (minutes)")
    top.legend(loc="lower right", fontsize=8)
    bottom.legend(loc="upper right", fontsize=8)
    steps = rows[-1]["train/agent_steps"]
    fig.suptitle(title or f"PPO, small preset: {steps / 1e6:.1f} M agent-steps")
    return _save(fig, out)


def compare(runs: dict[str, str | Path], out: str | Path, title: str = "", smooth: int = 16) -> Path:
    """The smoothed mean lifetime of each run (``{label: run}``) over agent-steps and over
    wall-clock minutes, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_steps, by_time) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for label, run in runs.items():
        rows = _timed_rows(run)
        lifetime = _smooth([r["env/lifetime_mean"] for r in rows], smooth)
        by_steps.plot([r["train/agent_steps"] / 1e6 for r in rows], lifetime, label=label)
        by_time.plot([r["train/wall_seconds"] / 60 for r in rows], lifetime, label=label)
    by_steps.set_xlabel("agent-steps (millions)")
    by_time.set_xlabel("training time (minutes)")
    by_steps.set_ylabel(f"mean lifetime (ticks; mean of {smooth} iterations)")
    by_steps.legend(loc="lower right", fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, out)


def _save(fig: Any, out: str | Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="plot a training run's learning curve")
    parser.add_argument("run", nargs="?", help="run directory (or its metrics.jsonl)")
    parser.add_argument("out", help="PNG to write")
    parser.add_argument("--baseline-lifetime", type=float)
    parser.add_argument("--baseline-lava", type=float)
    parser.add_argument("--title")
    parser.add_argument("--compare", nargs="+", metavar="LABEL=RUN", help="compare several runs' lifetimes")
    args = parser.parse_args()
    if args.compare:
        pairs = [item.partition("=") for item in args.compare]
        if any(not label or not sep or not run for label, sep, run in pairs):
            parser.error("--compare takes LABEL=RUN pairs")
        print(compare({label: run for label, _, run in pairs}, args.out, args.title or ""))
        return
    if args.run is None:
        parser.error("give a run directory (or --compare LABEL=RUN ...)")
    print(plot(args.run, args.out, args.baseline_lifetime, args.baseline_lava, args.title))


if __name__ == "__main__":
    main()
