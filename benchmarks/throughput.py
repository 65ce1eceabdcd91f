"""Throughput of both APIs on every preset, printed as the markdown table of BENCHMARKS.md.

    .venv/bin/python benchmarks/throughput.py [--repeats 5] [--presets small medium large]

Every agent stays alive (concurrent spawning, immortal) so the agent count is the preset's cap;
actions come from the Random policy (uniform over what the mask allows, so agents attack whatever
is in reach), computed outside the clock; the preset's NPCs are on. Figures are medians of the
repeats; "without combat" is the same run with no NPCs and Forager agents that never attack.
"""

from __future__ import annotations

import argparse
import datetime
import platform

from neural_mmo.bench import run_benchmarks
from neural_mmo.config import Config

TICKS = {"small": 1000, "medium": 1000, "large": 200}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--presets", nargs="+", default=list(TICKS))
    args = parser.parse_args()
    print(f"{datetime.date.today()}, {platform.machine()}, Python {platform.python_version()}, one core")
    print()
    print(
        "| preset | map | agents | NPCs | VecEnv agent-steps/s | PettingZoo agent-steps/s "
        "| VecEnv without combat | VecEnv fighters, own rules | obs bytes/agent | map generation s "
        "| reset s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.presets:
        r = run_benchmarks(Config.preset(name), ticks=TICKS.get(name, 500), repeats=args.repeats, preset=name)
        print(
            f"| {name} | {r['map_size']} | {r['agents']} | {r['npcs']} | {r['vecenv_agent_steps_per_s']:,} "
            f"| {r['parallel_env_agent_steps_per_s']:,} | {r['vecenv_without_combat_agent_steps_per_s']:,} "
            f"| {r['vecenv_fighter_default_rules_agent_steps_per_s']:,} | {r['obs_bytes_per_agent']} "
            f"| {r['map_generation_s']} | {r['reset_s']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
