"""The size budget: the medium preset (128 agents, 128 NPCs), Fighter agents, 1,024 ticks, at most
5 MB, with either codec (the figure is in docs/replay.md)."""

from __future__ import annotations

from neural_mmo.agents import FighterPolicy
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.replay import ReplayReader, ReplayWriter
from neural_mmo.replay.format import zstd_available

BUDGET = 5_000_000
TICKS = 1024


def test_a_medium_fighter_episode_fits_in_five_megabytes(tmp_path):
    cfg = Config.preset("medium")
    assert (cfg.spawn.n_agents, cfg.npc.n_npcs, cfg.episode.horizon) == (128, 128, TICKS)
    codecs = ["lzma", "zstd"] if zstd_available() else ["lzma"]
    vec = VecEnv(1, config=cfg, seed=0, autoreset=False)
    policy = FighterPolicy(vec.layout, seed=0)
    obs, _ = vec.reset()
    writers = [ReplayWriter(tmp_path / f"{c}.replay", cfg, 0, compression=c) for c in codecs]
    for w in writers:
        w.record(vec.worlds[0])
    for _ in range(TICKS):
        obs, *_ = vec.step(policy.act(obs))
        for w in writers:
            w.record(vec.worlds[0])
    for w in writers:
        w.close()
    final = vec.worlds[0].state_hash()
    for codec in codecs:
        path = tmp_path / f"{codec}.replay"
        size = path.stat().st_size
        assert size <= BUDGET, f"{codec}: {size:,} bytes"
        reader = ReplayReader(path)
        assert reader.n_ticks == TICKS + 1
        assert reader.state_at(TICKS).state_hash() == final
