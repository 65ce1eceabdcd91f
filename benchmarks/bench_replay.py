"""What recording costs: the same Fighter run on one world, with and without a ReplayWriter.

Alternates rounds of the identical run (same seed, same actions: the worlds are bit-identical)
without recording, with zstandard and with lzma, and prints the median agent-steps/s of each
(time inside ``vec.step`` plus, when recording, ``writer.record``; the policy is outside the
clock), the recording time per tick and the replay sizes.

    .venv/bin/python benchmarks/bench_replay.py [--preset medium] [--ticks 1024] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from neural_mmo.agents import FighterPolicy
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.replay import ReplayWriter
from neural_mmo.replay.format import zstd_available


def one_run(cfg: Config, ticks: int, compression: str | None, folder: Path) -> dict[str, float]:
    vec = VecEnv(1, config=cfg, seed=0, autoreset=False)
    policy = FighterPolicy(vec.layout, seed=0)
    obs, _ = vec.reset()
    path = folder / f"{compression}.replay"
    writer = ReplayWriter(path, cfg, 0, compression=compression) if compression else None
    if writer:
        writer.record(vec.worlds[0])
    step_s = record_s = 0.0
    agent_steps = 0
    for _ in range(ticks):
        actions = policy.act(obs)
        t0 = time.perf_counter()
        obs, *_ = vec.step(actions)
        t1 = time.perf_counter()
        if writer:
            writer.record(vec.worlds[0])
        t2 = time.perf_counter()
        step_s += t1 - t0
        record_s += t2 - t1
        agent_steps += int(vec.alive.sum())
    if writer:
        writer.close()
    return {
        "agent_steps_per_s": agent_steps / (step_s + record_s),
        "record_us_per_tick": record_s / ticks * 1e6,
        "step_us_per_tick": step_s / ticks * 1e6,
        "bytes": path.stat().st_size if writer else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--ticks", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cfg = Config.preset(args.preset)
    modes = [None, *(["zstd"] if zstd_available() else []), "lzma"]
    results: dict[str | None, list[dict[str, float]]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        for m in modes:  # warm-up: compile and cache every kernel
            one_run(cfg, 16, m, Path(tmp))
        for _ in range(args.rounds):
            for m in modes:
                results[m].append(one_run(cfg, args.ticks, m, Path(tmp)))
    base = statistics.median(r["agent_steps_per_s"] for r in results[None])
    print(f"{args.preset}, Fighter agents, {args.ticks} ticks, {args.rounds} rounds (medians)")
    for m in modes:
        rate = statistics.median(r["agent_steps_per_s"] for r in results[m])
        rec = statistics.median(r["record_us_per_tick"] for r in results[m])
        step = statistics.median(r["step_us_per_tick"] for r in results[m])
        size = results[m][0]["bytes"]
        print(f"{m or 'no recording':14s} {rate:>12,.0f} agent-steps/s ({rate / base:5.1%})  "
              f"step {step:6.1f} us/tick  record {rec:6.1f} us/tick  file {size:,} bytes")  # fmt: skip


if __name__ == "__main__":
    main()
