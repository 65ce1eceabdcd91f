"""Tournaments: who acts for which agents, the bookkeeping, the ranking, and bad entrants."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("openskill")

from neural_mmo.agents import Player, RandomPolicy  # noqa: E402
from neural_mmo.agents.base import Policy  # noqa: E402
from neural_mmo.config import Config  # noqa: E402
from neural_mmo.envs.vector import VecEnv  # noqa: E402
from neural_mmo.observe.heads import ActionHead  # noqa: E402
from neural_mmo.observe.layout import EntityColumn, EntityKind, ObsLayout, TileChannel  # noqa: E402
from neural_mmo.research.entrants import (  # noqa: E402
    Adapter,
    EntrantError,
    load_entrant,
    make_scripted,
    renumber,
    renumber_tables,
)
from neural_mmo.research.tournament import (  # noqa: E402
    Ledger,
    MatchPolicy,
    check_layouts,
    run_tournament,
    tournament_config,
)
from neural_mmo.stats import RunStats  # noqa: E402
from neural_mmo.world.events import EventKind  # noqa: E402

SMALL = Config.preset("small").override({"npc.n_npcs": 0, "map.size": 32, "spawn.n_agents": 16})


class Still(Policy):
    """Never moves, never attacks."""

    name = "still"

    def act(self, observations):
        return np.zeros((observations["action_mask"].shape[0], len(self.layout.heads)), np.int64)


def test_each_slot_acts_with_its_entrants_policy_and_lifetimes_add_up():
    layout = ObsLayout(SMALL)
    entrants = [load_entrant(Still(layout)), load_entrant(RandomPolicy(layout, 1)), load_entrant("forager")]
    config = tournament_config(entrants, 12, SMALL)
    assert config.spawn.n_populations == 3 and config.spawn.n_agents == 12
    layout = ObsLayout(config)
    check_layouts(entrants, layout, config)
    make_scripted(entrants[2], layout, 0)
    env = VecEnv(2, config=config, seed=4, autoreset=False)
    policy = MatchPolicy(layout, entrants)
    stats = RunStats()
    player = Player(env, policy, stats)
    ledger = Ledger(env, policy.owner_of)
    player.reset()
    ledger.start()
    for _ in range(60):
        alive = env.alive.copy()
        populations = np.concatenate([w.agents.population for w in env.worlds])
        player.step()
        ledger.tick()
        owners = policy.last_owner
        assert (owners[alive] >= 0).all()
        np.testing.assert_array_equal(owners[alive], populations[alive])  # entrant e owns population e
        for state in env.worlds:  # the still entrant's agents never move
            moves = state.events.slot[state.events.kind == EventKind.MOVE]
            assert not (state.agents.population[moves] == 0).any()
    player.finish()
    ledger.finish(0)
    lifetimes = [x for m in ledger.matches for x in m["lifetimes"]]
    assert sum(len(x) for x in lifetimes) == len(stats.lifetimes)
    assert sum(int(x.sum()) for x in lifetimes) == sum(stats.lifetimes)
    assert len(ledger.matches) == 2


def test_a_stronger_scripted_entrant_beats_random():
    result = run_tournament(
        ["forager", "random"], agents=16, worlds=2, ticks=80, rounds=2, game=SMALL, seed=5
    )
    forager, rand = result.entrants
    assert result.matches == 4
    assert forager.lifetime_mean > rand.lifetime_mean + 2 * (forager.lifetime_ci95 + rand.lifetime_ci95)
    assert result.win_rate[0, 1] == 1.0 and result.win_rate[1, 0] == 0.0
    assert forager.matches_won == 4 and rand.matches_won == 0
    assert forager.rating > rand.rating and forager.rating_mu > 25 > rand.rating_mu
    assert forager.agents > 0 and rand.agents > 0
    text = result.markdown()
    assert "| forager | 1 |" in text and "Win rates" in text


def test_results_are_saved_with_a_plot(tmp_path):
    result = run_tournament(["fighter", "random"], agents=8, worlds=1, ticks=20, rounds=1, game=SMALL)
    paths = result.save(tmp_path)
    assert sorted(p.name for p in paths) == ["tournament.json", "tournament.md", "tournament.png"]
    assert all(p.stat().st_size > 0 for p in paths)


def test_renumbering_shows_each_entrant_its_own_populations():
    population_map, tile_map = renumber_tables(5, 2, 2)  # the entrant owns world populations 2 and 3
    assert population_map.tolist() == [0, 1, 0, 1, 0]  # its own as 0 and 1; others as p mod 2
    assert tile_map[:6].tolist() == [0, 1, 2, 1, 2, 1]  # tile code 1 + population
    assert tile_map[6:9].tolist() == [3, 4, 5]  # NPC codes: the entrant's n_populations + behaviour
    obs = {
        "tiles": np.zeros((1, 3, 3, 2), np.uint8),
        "entities": np.zeros((1, 3, 23), np.int16),
    }
    obs["tiles"][0, 1, 1, TileChannel.OCCUPANT] = 1 + 3
    obs["tiles"][0, 0, 0, TileChannel.OCCUPANT] = 5 + 2  # a neutral NPC
    obs["entities"][0, :2, EntityColumn.KIND] = EntityKind.PLAYER
    obs["entities"][0, :2, EntityColumn.POPULATION] = [3, 4]
    obs["entities"][0, 2, EntityColumn.KIND] = EntityKind.NEUTRAL_NPC
    renumber(obs, population_map, tile_map)
    assert (
        obs["tiles"][0, 1, 1, TileChannel.OCCUPANT] == 2 and obs["tiles"][0, 0, 0, TileChannel.OCCUPANT] == 4
    )
    assert obs["entities"][0, :3, EntityColumn.POPULATION].tolist() == [1, 0, 0]


def test_checkpoints_enter_with_all_their_populations(checkpoints):
    result = run_tournament([str(checkpoints["two"]), str(checkpoints["one"]), "forager"], agents=8,
                            worlds=1, ticks=15, rounds=1)  # fmt: skip
    assert [e.populations for e in result.entrants] == [2, 1, 1]
    assert result.settings["populations"] == 4
    assert sum(e.agents for e in result.entrants) >= 8
    two, one, forager = result.entrants
    assert two.agents > max(one.agents, forager.agents), "two populations: two shares of the agents"


def test_automatic_targeting_entrants_are_adapted_to_learned_targeting(checkpoints):
    layout = ObsLayout(SMALL)
    auto = load_entrant(str(checkpoints["auto"]))
    peaceful = load_entrant(str(checkpoints["peaceful"]))
    check_layouts([auto, peaceful], layout, SMALL)
    assert auto.adapter is not None and auto.adapter.style_only and not auto.adapter.no_attacks
    assert peaceful.adapter is not None and peaceful.adapter.no_attacks
    result = run_tournament([str(checkpoints["auto"]), str(checkpoints["peaceful"]), "fighter"], agents=12,
                            worlds=1, ticks=30, rounds=1, game=SMALL)  # fmt: skip
    assert result.entrants[1].hits == 0, "an entrant trained without combat never attacks"


def test_the_adapter_aims_a_style_at_the_weakest_allowed_row():
    layout = ObsLayout(SMALL)
    n = layout.n_entities
    adapter = Adapter(layout, style_only=True, no_attacks=False)
    o = int(layout.action_offsets[ActionHead.ATTACK])
    obs = {
        "action_mask": np.zeros((2, layout.n_actions), np.int8),
        "entities": np.zeros((2, n, 23), np.int16),
    }
    obs["action_mask"][:, o] = 1
    obs["entities"][:, 1:4, EntityColumn.HEALTH] = [50, 20, 20]
    obs["action_mask"][0, o + 1 + 2 * n + np.array([1, 2, 3])] = 1  # mage reaches rows 1-3
    obs["action_mask"][0, o + 1 + 1] = 1  # melee reaches row 1 only
    seen = adapter.observations({k: v.copy() for k, v in obs.items()})
    assert seen["action_mask"].shape == (2, o + 4)
    assert seen["action_mask"][0, o : o + 4].tolist() == [1, 1, 0, 1]
    assert seen["action_mask"][1, o : o + 4].tolist() == [1, 0, 0, 0]
    actions = np.zeros((2, 2), np.int64)
    actions[:, ActionHead.ATTACK] = [3, 3]
    out = adapter.actions(actions, obs)
    assert out[0, ActionHead.ATTACK] == 1 + 2 * n + 2  # mage at row 2: health 20, nearer than row 3
    assert out[1, ActionHead.ATTACK] == 0  # nothing in reach: no attack
    actions[0, ActionHead.ATTACK] = 1
    assert adapter.actions(actions, obs)[0, ActionHead.ATTACK] == 1 + 1  # melee: row 1


# ---------------------------------------------------------------------- bad input


def test_bad_entrants_are_refused_clearly(tmp_path, checkpoints):
    with pytest.raises(EntrantError, match="at least two"):
        run_tournament(["forager"])
    with pytest.raises(EntrantError, match="below the 3 populations"):
        run_tournament([str(checkpoints["two"]), "forager"], agents=2)
    with pytest.raises(EntrantError, match="no such checkpoint"):
        run_tournament([str(tmp_path / "missing.pt"), "forager"])
    with pytest.raises(EntrantError, match="not a scripted policy"):
        run_tournament(["fihgter", "forager"])
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"PK\x03\x04 not a checkpoint")
    with pytest.raises(EntrantError, match="corrupt.pt: not a readable checkpoint"):
        run_tournament([str(corrupt), "forager"])


def test_checkpoints_of_different_layouts_are_named(checkpoints):
    with pytest.raises(EntrantError) as err:
        run_tournament([str(checkpoints["one"]), str(checkpoints["narrow"])], worlds=1, ticks=2, rounds=1)
    message = str(err.value)
    assert "narrow" in message and "observe.n_entities 8 (tournament: 32)" in message
    with pytest.raises(EntrantError, match="combat.auto_target"):  # learned targeting in an automatic game
        run_tournament([str(checkpoints["auto"]), str(checkpoints["one"])], worlds=1, ticks=2, rounds=1)
