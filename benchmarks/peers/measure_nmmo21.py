"""Agent-steps/s of Neural MMO 2.1.1 (PyPI ``nmmo==2.1.1``) with random valid actions.

Runs inside the peer venv built by ``setup_peers.sh`` (never with the project's .venv):

    ~/.cache/neural_mmo_peers/nmmo21/bin/python benchmarks/peers/measure_nmmo21.py [--immortal]

Configuration: ``nmmo.config.Default`` as shipped (128 agents, 128 NPCs, 128x128 playable map,
all game systems on), or the same with its ``IMMORTAL`` debug flag, which keeps every agent
alive the way our benchmark's ``vitals.immortal`` does. Each tick every living agent gets a random
valid action: for every action and every argument, an index drawn uniformly among those its
``ActionTargets`` mask allows (the no-op target included). The actions are drawn outside the
clock; the clock runs around ``env.step`` only, which includes nmmo's own observation, reward
and task computation. Agent-steps/s = sum over ticks of the agents alive after the tick / time
inside ``env.step``. One fresh env per run: reset and ``--warmup`` ticks first, untimed.

nmmo reads ``os.getcwd()`` at import time to place its generated maps (``maps/medium``), so this
script moves to ``--workdir`` (outside the project tree) before importing it.

Prints one JSON line: agent_steps_per_s plus evidence that the world advanced.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import time


def quarter_rates(alive: list[int], times: list[float]) -> list[float]:
    """Agent-steps/s over each quarter of the timed ticks, to show drift within a run."""
    k = max(len(times) // 4, 1)
    return [round(sum(alive[i : i + k]) / sum(times[i : i + k])) for i in range(0, k * 4, k)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=300, help="timed ticks (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed ticks after reset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--immortal", action="store_true", help="set nmmo's IMMORTAL debug flag")
    parser.add_argument(
        "--workdir",
        default=os.path.join(os.path.expanduser("~"), ".cache", "neural_mmo_peers", "work", "nmmo21"),
        help="where nmmo writes its generated maps",
    )
    args = parser.parse_args()

    os.makedirs(args.workdir, exist_ok=True)
    os.chdir(args.workdir)
    import nmmo
    import numpy as np
    from nmmo.core.config import Default

    class Immortal(Default):
        IMMORTAL = True

    config = Immortal() if args.immortal else Default()
    env = nmmo.Env(config, seed=args.seed)
    obs, _ = env.reset(seed=args.seed)
    rng = np.random.default_rng(args.seed)

    def act(observations: dict) -> dict:
        return {
            agent: {
                name: {arg: int(rng.choice(np.flatnonzero(mask))) for arg, mask in targets.items()}
                for name, targets in ob["ActionTargets"].items()
            }
            for agent, ob in observations.items()
            if agent in env.realm.players
        }

    for _ in range(args.warmup):
        obs = env.step(act(obs))[0]

    def positions(entities: dict) -> dict[int, tuple[int, int]]:
        return {eid: tuple(int(x) for x in e.pos) for eid, e in entities.items()}

    def count_moved(before: dict, after: dict) -> int:
        return sum(1 for eid, pos in after.items() if eid in before and before[eid] != pos)

    tick_before = int(env.realm.tick)
    players_before, npcs_before = positions(env.realm.players), positions(env.realm.npcs)
    alive_trace: list[int] = []
    times: list[float] = []
    for _ in range(args.ticks):
        actions = act(obs)
        start = time.perf_counter()
        obs = env.step(actions)[0]
        times.append(time.perf_counter() - start)
        alive_trace.append(len(env.realm.players))

    moved = count_moved(players_before, positions(env.realm.players))
    npcs_moved = count_moved(npcs_before, positions(env.realm.npcs))
    result = {
        "peer": "nmmo",
        "version": importlib.metadata.version("nmmo"),
        "config": "Default+IMMORTAL" if args.immortal else "Default",
        "agents_configured": int(config.PLAYER_N),
        "npcs_configured": int(config.NPC_N),
        "map_playable": int(config.MAP_CENTER),
        "ticks": args.ticks,
        "warmup": args.warmup,
        "seed": args.seed,
        "agent_steps_per_s": sum(alive_trace) / sum(times),
        "quarter_agent_steps_per_s": quarter_rates(alive_trace, times),
        "mean_alive": sum(alive_trace) / len(alive_trace),
        "evidence": {
            "realm_tick_before": tick_before,
            "realm_tick_after": int(env.realm.tick),
            "alive_after_first_timed_tick": alive_trace[0],
            "alive_after_last_timed_tick": alive_trace[-1],
            "agents_moved_over_timed_ticks": moved,
            "npcs_moved_over_timed_ticks": npcs_moved,
            "npcs_alive_at_end": len(env.realm.npcs),
        },
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    advanced_ticks = result["evidence"]["realm_tick_after"] == tick_before + args.ticks
    result["advanced"] = advanced_ticks and moved + npcs_moved > 0
    print(json.dumps(result))


if __name__ == "__main__":
    main()
