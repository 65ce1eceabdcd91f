"""The play loop (:class:`Player`, :func:`play`): a policy acting on a VecEnv, told where agents
spawned, with the run's statistics; and the scripted replay recorded through it."""

from __future__ import annotations

import numpy as np
import pytest

from neural_mmo.agents import Player, Policy, RandomPolicy, make_policy, play, record_scripted_run
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.replay import ReplayReader
from neural_mmo.stats import RunStats
from neural_mmo.train.evaluate import run_policy

# continuous spawning (a few agents a tick, slots reused after deaths) and short episodes
# (autoreset spawns a whole new population): agents appear at reset, mid-episode and at autoresets
GAME = Config.preset("small").override({"episode.horizon": 12, "spawn.n_agents": 16, "map.size": 32})


class Remembering(RandomPolicy):
    """The random policy, keeping the rows of every restart."""

    def __init__(self, layout, seed=0):
        super().__init__(layout, seed)
        self.restarts: list[list[int]] = []

    def restart(self, rows):
        self.restarts.append(np.asarray(rows).tolist())


def test_the_base_policy_restart_is_a_no_op_and_scripted_policies_inherit_it():
    policy = make_policy("forager", VecEnv(1, config=GAME).layout)
    assert type(policy).restart is Policy.restart
    assert policy.restart(np.array([0, 3])) is None


def new_rows(vec: VecEnv) -> list[int]:
    """Flat batch rows (slot ``k`` of world ``w`` is ``w * slots_per_world + k``) of the agents
    that appeared on their world's current tick, read from the worlds' agent tables."""
    rows = []
    for w, world in enumerate(vec.worlds):
        agents = world.agents
        slots = np.flatnonzero(agents.alive & (agents.spawn_tick == world.tick))
        rows.extend((w * vec.slots_per_world + slots).tolist())
    return rows


def test_restart_gets_exactly_the_rows_that_spawned_after_each_reset_and_step():
    vec = VecEnv(2, config=GAME, seed=5)
    policy = Remembering(vec.layout, seed=5)
    player = Player(vec, policy)
    player.reset()
    expected = [new_rows(vec)]
    for _ in player.run(30):
        if new_rows(vec):
            expected.append(new_rows(vec))
    assert policy.restarts == expected
    assert len(expected) > 3, "agents spawned after the reset too"
    assert any(row >= 16 for rows in expected for row in rows), "the second world's rows follow the first's"
    first_episode = [row for rows in expected[:12] for row in rows]
    assert len(first_episode) > len(set(first_episode)), "slots reused by new agents within an episode"
    assert all(rows for rows in policy.restarts), "never told about nothing"


def hand_written_run(config: Config, worlds: int, seed: int, ticks: int, agents: str) -> RunStats:
    """A run as ``neural-mmo run`` wrote it before the play loop: autoresetting worlds, each
    episode closed in the stats when it ends, the open ones at the end."""
    vec = VecEnv(worlds, config=config, seed=seed)
    policy = make_policy(agents, vec.layout, seed=seed)
    obs, _ = vec.reset()
    stats = RunStats()
    stats.record(vec.worlds, stepped=False)
    for _ in range(ticks):
        obs, *_ = vec.step(policy.act(obs))
        stats.record(vec.worlds)
        stats.finish([vec.worlds[w] for w in np.flatnonzero(vec.episode_done)])
    stats.finish([vec.worlds[w] for w in np.flatnonzero(~vec.episode_done)])
    return stats


@pytest.mark.parametrize("agents", ["fighter", "random"])
def test_play_gives_the_stats_of_a_hand_written_loop(agents):
    vec = VecEnv(2, config=GAME, seed=11)
    stats = play(vec, make_policy(agents, vec.layout, seed=11), 40)
    expected = hand_written_run(GAME, 2, 11, 40, agents)
    assert stats.summary() == expected.summary()
    assert stats.episodes == expected.episodes == 2 * 3 + 2  # three whole episodes a world, then 4 ticks
    assert stats.ticks == 40


def test_play_until_done_stops_when_every_episode_ended_and_shares_one_stats():
    vec = VecEnv(2, config=GAME, seed=2)
    policy = make_policy("forager", vec.layout, seed=2)
    stats = RunStats()
    play(vec, policy, 100, until_done=True, stats=stats)
    assert stats.ticks == 12 and stats.episodes == 2
    assert vec.episode_done.all()
    play(vec, policy, 100, until_done=True, stats=stats)
    assert stats.ticks == 24 and stats.episodes == 4


def test_evaluation_counts_every_agent_it_saw_spawn_once_over_several_episodes():
    """Every spawn event is an agent seen (a lifetime), also with several episodes: no reset
    after the last episode adds spawns nobody played."""
    summary = run_policy(make_policy("fighter", VecEnv(1, config=GAME).layout, seed=0), GAME, seed=9,
                         worlds=2, episodes=3)  # fmt: skip
    assert summary["episodes"] == 6
    assert summary["ticks"] == 3 * 12
    assert summary["events"]["spawn"] == summary["agents_seen"] > 0


def test_a_player_refuses_what_is_not_a_policy_and_playing_before_reset():
    vec = VecEnv(1, config=GAME)
    with pytest.raises(TypeError, match="Policy"):
        Player(vec, lambda obs: None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="worlds"):
        Player(object(), RandomPolicy(vec.layout), RunStats())
    player = Player(vec, RandomPolicy(vec.layout))
    with pytest.raises(RuntimeError, match="reset"):
        player.step()
    for bad in (-1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="ticks"):
            next(player.run(bad))  # type: ignore[arg-type]


def test_apply_steps_with_given_actions_and_keeps_the_outputs():
    vec = VecEnv(1, config=GAME, seed=1)
    player = Player(vec, RandomPolicy(vec.layout, seed=1))
    player.reset()
    tick = vec.worlds[0].tick
    player.apply(np.zeros((vec.num_slots, vec.n_heads), np.int64))
    assert vec.worlds[0].tick == tick + 1
    assert player.observations is vec.observations and player.infos is vec.infos
    assert player.rewards is vec.rewards


def test_a_scripted_replay_holds_the_reset_and_every_tick_up_to_the_episode_end(tmp_path):
    path = record_scripted_run(tmp_path / "run.replay", GAME, seed=3, ticks=50, policy="fighter")
    with ReplayReader(path) as reader:
        assert reader.ticks == range(0, 13)  # reset and 12 ticks: the episode ended there
    path = record_scripted_run(tmp_path / "short.replay", GAME, seed=3, ticks=5, policy="random")
    with ReplayReader(path) as reader:
        assert reader.ticks == range(0, 6)
