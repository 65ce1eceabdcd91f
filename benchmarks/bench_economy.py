"""The cost of the economy: VecEnv agent-steps/s with items, professions and the exchange off and on,
side by side.

    .venv/bin/python benchmarks/bench_economy.py [--rounds 5] [--ticks 400] [--worlds 1] [--preset medium]

Medium preset with ``BENCH_OVERRIDES`` (every agent alive, combat at full load), the Random policy
(uniform over what each head's mask allows, so agents harvest, put items on, take them off, eat
rations, drink potions, destroy, give items and gold, list and buy whenever the mask allows; the
policy runs outside the clock). Each round
measures both settings one after the other in this process (alternating which goes first), so a
shared machine's drift hits both; prints each setting's median over rounds, the ratio, and the
economy events per tick that the runs produced (so the "on" figure is of a working economy).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from neural_mmo.agents import Player, make_policy
from neural_mmo.bench import BENCH_OVERRIDES
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.world.events import EventKind

ECONOMY = {"item.enabled": True, "profession.enabled": True, "exchange.enabled": True}
COUNTED = (EventKind.HARVEST, EventKind.EQUIP, EventKind.UNEQUIP, EventKind.CONSUME, EventKind.LOOT,
           EventKind.DESTROY, EventKind.GIVE, EventKind.LIST, EventKind.BUY, EventKind.EXPIRE)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ticks", type=int, default=400)
    parser.add_argument("--worlds", type=int, default=1)
    parser.add_argument("--preset", default="medium")
    args = parser.parse_args()
    base = Config.preset(args.preset).override(BENCH_OVERRIDES)
    players = {}
    for name, config in (("off", base), ("on", base.override(ECONOMY))):
        vec = VecEnv(args.worlds, config=config, seed=0)
        player = Player(vec, make_policy("random", vec.layout, 0))
        player.reset()
        for _ in range(20):
            player.step()
        players[name] = player
    rates: dict[str, list[float]] = {"off": [], "on": []}
    events = dict.fromkeys((k.name for k in COUNTED), 0)
    for r in range(args.rounds):
        for name in ("off", "on") if r % 2 == 0 else ("on", "off"):
            player = players[name]
            seconds, steps = 0.0, 0
            for _ in range(args.ticks):
                actions = player.act()
                start = time.perf_counter()
                player.apply(actions)
                seconds += time.perf_counter() - start
                steps += int(np.count_nonzero(player.env.alive))
                if name == "on":
                    for w in player.env.worlds:
                        for kind in COUNTED:
                            events[kind.name] += int((w.events.kind == kind).sum())
            rates[name].append(steps / seconds)
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    ticks = args.rounds * args.ticks * args.worlds
    per_tick = {k: round(v / ticks, 2) for k, v in events.items()}
    print(f"economy off {off:,.0f}  on {on:,.0f} agent-steps/s  on/off {on / off:.3f}")
    print("economy events per world-tick:", per_tick)
    print(json.dumps({"off": off, "on": on, "ratio": on / off, "rates": rates, "events_per_tick": per_tick}))


if __name__ == "__main__":
    main()
