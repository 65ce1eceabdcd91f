"""Proximal Policy Optimisation over the VecEnv's flat agent slots, in the order it runs.

1. **Collect** (:func:`collect`): ``horizon`` ticks of every world. Each tick, every living slot
   gets an action from its population's policy, and we store the observation, action, its
   log-probability and the value. A slot is a *sample* only when its world really steps that tick
   (a world whose episode ended is reset on the next step and ignores its actions).
2. **Advantages** (:func:`gae`): generalised advantage estimation per slot, backwards in time. A
   sample *continues* into the next tick when the same agent is still in the slot (it did not
   die, and nobody new spawned there). At death nothing is bootstrapped. At the episode horizon
   (truncation) and at the end of the rollout the agent is still alive, so the value of its next
   observation bootstraps the return, but the advantage does not run on past it.
3. **Update** (:func:`update`): a few epochs of shuffled minibatches per population, with the
   clipped policy loss, the clipped value loss, an entropy bonus, advantages normalised per
   minibatch and the gradient norm clipped. The learning rate anneals linearly (by the caller).

Everything is tensors of shape ``[T, N]`` (ticks x slots) or ``[T, N, ...]``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from neural_mmo.envs.vector import with_tables
from neural_mmo.observe.layout import EntityColumn, ObsLayout
from neural_mmo.train.io import batch_of, log_prob_entropy, sample, tables_for
from neural_mmo.train.models import Base, reset_state

# ---------------------------------------------------------------------------------------- storage


class Rollout:
    """Preallocated storage of one rollout of ``T`` ticks over ``N`` slots."""

    def __init__(self, layout: ObsLayout, T: int, N: int):
        self.T, self.N = T, N
        self.S = layout.config.spawn.n_agents  # slots per world
        self.obs = {f.key: np.zeros((T, N, *f.shape), f.dtype) for f in layout.fields}
        self.tables = {f.key: np.zeros((T, N // self.S, *f.shape), f.dtype) for f in layout.world_fields}
        """World tables (``market``) per tick and world: stored once per world, not per slot."""
        self.actions = np.zeros((T, N, len(layout.heads)), np.int64)
        self.log_probs = np.zeros((T, N), np.float32)
        self.values = np.zeros((T + 1, N), np.float32)  # values[t]: of the observation at tick t
        self.rewards = np.zeros((T, N), np.float32)
        self.alive = np.zeros((T + 1, N), np.bool_)  # a living agent observed at tick t
        self.valid = np.zeros((T, N), np.bool_)  # a sample: alive, and its world steps at tick t
        self.starts = np.zeros((T, N), np.bool_)  # the slot's agent spawned at tick t
        self.died = np.zeros((T, N), np.bool_)  # the slot's agent died on tick t
        self.same_next = np.zeros((T, N), np.bool_)  # the same agent is alive in the slot at t + 1
        self.population = np.zeros((T, N), np.int64)
        self.state0: dict[int, object] = {}  # recurrent state per population before tick 0


# ---------------------------------------------------------------------------------------- acting


@torch.no_grad()
def act(
    models: list[Base], obs: dict[str, np.ndarray], rows: np.ndarray, population: np.ndarray,
    states: list[object] | None = None, greedy: bool = False, generator: torch.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Actions, log-probabilities and values for observation ``rows`` (slots), each from the model
    of its population (``obs`` may hold the world tables and their index:
    :func:`~neural_mmo.envs.vector.with_tables`). ``states[p]`` is population ``p``'s recurrent
    state over ALL slots (updated in place for ``rows``). Actions are drawn with ``generator``
    when given (see :func:`sample`)."""
    n = len(rows)
    n_heads = len(models[0].layout.heads)
    actions, log_probs, values = (
        np.zeros((n, n_heads), np.int64),
        np.zeros(n, np.float32),
        np.zeros(n, np.float32),
    )
    for p, model in enumerate(models):
        mine = np.flatnonzero(population == p) if len(models) > 1 else np.arange(n)
        if mine.size == 0:
            continue
        slots = rows[mine]
        device = model_device(model)
        batch = batch_of(obs, slots, model.input.table_views, device)
        state = None
        if model.recurrent and states is not None:
            index = torch.from_numpy(slots).to(device)
            state = _take(states[p], index)
        logits, value, state = model(batch, state)
        if model.recurrent and states is not None:
            _put(states[p], index, state)
        chosen = sample(logits, greedy=greedy, generator=generator)
        log_prob, _ = log_prob_entropy(logits, chosen)
        actions[mine], log_probs[mine], values[mine] = (
            chosen.cpu().numpy(),
            log_prob.cpu().numpy(),
            value.cpu().numpy(),
        )
    return actions, log_probs, values


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a model's parameters (the CPU for a model without any)."""
    first = next(iter(model.parameters()), None)
    return torch.device("cpu") if first is None else first.device


def _take(state, index):
    return state[index] if isinstance(state, torch.Tensor) else tuple(_take(s, index) for s in state)


def _put(state, index, new) -> None:
    if isinstance(state, torch.Tensor):
        state[index] = new
    else:
        for s, x in zip(state, new):
            _put(s, index, x)


def populations_of(obs: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    return obs["entities"][rows, 0, EntityColumn.POPULATION].astype(np.int64)


# ---------------------------------------------------------------------------------------- 1. collect


def collect(
    env, models: list[Base], rollout: Rollout, states: list[object] | None = None, on_tick=None,
    timings: dict[str, float] | None = None,
) -> None:  # fmt: skip
    """Fill ``rollout`` with ``T`` ticks of ``env`` (a VecEnv or MultiprocessVecEnv, already reset).

    ``states[p]``: population ``p``'s recurrent state over all slots (None for feed-forward
    models); it is restarted where agents spawn and carried from one rollout to the next.
    ``on_tick(env, alive_before)`` runs after every step (metrics); ``timings["env"]`` and
    ``timings["policy"]`` accumulate seconds spent stepping and choosing actions.
    """
    timings = timings if timings is not None else {}
    S = env.slots_per_world
    obs = with_tables(env, env.observations)
    for p, model in enumerate(models):
        if model.recurrent and states is not None:
            rollout.state0[p] = _clone(states[p])
    for t in range(rollout.T):
        alive = env.alive.copy()
        stepping = ~np.repeat(env.episode_done, S)  # a finished world resets instead of stepping
        rows = np.flatnonzero(alive)
        population = populations_of(obs, rows)
        starts = env.spawned.copy()
        if states is not None:
            for p, model in enumerate(models):
                if model.recurrent:
                    fresh = model.initial_state(rollout.N)
                    where = torch.from_numpy(starts).to(model_device(model))
                    states[p] = reset_state(states[p], where, fresh)
        started = time.perf_counter()
        actions, log_probs, values = act(models, obs, rows, population, states)
        timings["policy"] = timings.get("policy", 0.0) + time.perf_counter() - started

        for key, store in rollout.obs.items():
            store[t] = obs[key]
        for key, store in rollout.tables.items():
            store[t] = obs[key]
        rollout.alive[t], rollout.valid[t], rollout.starts[t] = alive, alive & stepping, starts
        rollout.actions[t].fill(0)
        rollout.actions[t, rows], rollout.log_probs[t, rows], rollout.values[t, rows] = (
            actions,
            log_probs,
            values,
        )
        rollout.population[t, rows] = population

        env.action_buffer.fill(0)
        env.action_buffer[rows] = actions
        started = time.perf_counter()
        env.step_buffered()
        timings["env"] = timings.get("env", 0.0) + time.perf_counter() - started
        if on_tick is not None:
            on_tick(env, alive)
        rollout.rewards[t] = env.rewards
        rollout.died[t] = env.terminations
        rollout.same_next[t] = env.alive & ~env.spawned & ~env.terminations

    # the value of the observation after the last tick bootstraps the agents still alive
    rows = np.flatnonzero(env.alive)
    rollout.alive[-1] = env.alive
    rollout.values[-1] = 0.0
    if rows.size:
        _, _, values = act(models, obs, rows, populations_of(obs, rows), _peek(states))
        rollout.values[-1, rows] = values


def _clone(state):
    return state.clone() if isinstance(state, torch.Tensor) else tuple(_clone(s) for s in state)


def _peek(states):
    """Recurrent states to evaluate with, leaving the carried states untouched."""
    return None if states is None else [None if s is None else _clone(s) for s in states]


# ---------------------------------------------------------------------------------------- 2. advantages


def gae(
    rewards: np.ndarray, values: np.ndarray, valid: np.ndarray, died: np.ndarray, same_next: np.ndarray,
    gamma: float, lam: float,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Advantages and returns ``[T, N]`` (meaningful where ``valid``).

    ``values`` is ``[T + 1, N]``: ``values[t + 1]`` is the value of the observation the slot shows
    after tick ``t``. The next value bootstraps when the same agent is still there (``same_next``,
    which also holds at truncation and at the rollout's end), and never at a death. The advantage
    accumulates into tick ``t + 1`` only when that tick is a sample of the same agent.
    """
    T = rewards.shape[0]
    advantages = np.zeros_like(rewards)
    running = np.zeros(rewards.shape[1], np.float32)
    for t in reversed(range(T)):
        bootstrap = same_next[t] & ~died[t]
        delta = rewards[t] + gamma * values[t + 1] * bootstrap - values[t]
        carry = bootstrap & valid[t + 1] if t + 1 < T else np.zeros_like(bootstrap)
        running = delta + gamma * lam * carry * running
        running = np.where(valid[t], running, 0.0).astype(np.float32)
        advantages[t] = running
    return advantages, advantages + values[:-1]


# ---------------------------------------------------------------------------------------- 3. update


@dataclass
class LossStats:
    policy_loss: float = 0.0
    value_loss: float = 0.0
    entropy: float = 0.0
    approx_kl: float = 0.0
    clip_fraction: float = 0.0
    explained_variance: float = 0.0
    samples: int = 0


def ppo_loss(
    model: Base, batch: dict[str, torch.Tensor], logits: list[torch.Tensor], value: torch.Tensor,
    clip: float, value_coef: float, entropy_coef: float,
) -> tuple[torch.Tensor, dict[str, float]]:  # fmt: skip
    """The clipped PPO objective for one minibatch (``batch`` holds actions, old log-probs, old
    values, advantages and returns)."""
    log_prob, entropy = log_prob_entropy(logits, batch["actions"])
    log_ratio = log_prob - batch["log_probs"]
    ratio = log_ratio.exp()
    adv = batch["advantages"]
    adv = (adv - adv.mean()) / (adv.std(unbiased=False) + 1e-8)
    policy_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - clip, 1 + clip)).mean()
    old_v, ret = batch["values"], batch["returns"]
    clipped_v = old_v + (value - old_v).clamp(-clip, clip)
    value_loss = 0.5 * torch.max((value - ret) ** 2, (clipped_v - ret) ** 2).mean()
    loss = policy_loss + value_coef * value_loss - entropy_coef * entropy.mean()
    with torch.no_grad():
        info = {
            "policy_loss": policy_loss.item(),
            "value_loss": value_loss.item(),
            "entropy": entropy.mean().item(),
            "approx_kl": ((ratio - 1) - log_ratio).mean().item(),
            "clip_fraction": ((ratio - 1).abs() > clip).float().mean().item(),
        }
    return loss, info


def update(
    model: Base, optimizer: torch.optim.Optimizer, rollout: Rollout, advantages: np.ndarray,
    returns: np.ndarray, population: int, epochs: int, minibatch: int, clip: float, value_coef: float,
    entropy_coef: float, max_grad_norm: float, generator: np.random.Generator,
) -> LossStats:  # fmt: skip
    """``epochs`` passes of minibatch gradient steps on population ``population``'s samples.

    Feed-forward models train on shuffled samples; recurrent ones on shuffled whole slots (the
    sequence of ``T`` ticks, replayed from the stored state with restarts at spawns), so the
    minibatch counts ``T``-tick sequences of about ``minibatch / T`` slots.
    """
    mine = rollout.valid & (rollout.population == population)
    stats = LossStats()
    sums: dict[str, float] = {}
    if not mine.any():
        return stats
    T, N = mine.shape
    device = model_device(model)
    # the whole rollout moves to the model's device once (on the CPU these are views, no copy)
    seqs = {k: torch.from_numpy(v).to(device) for k, v in rollout.obs.items()}
    flat = {k: v.reshape(T * N, *v.shape[2:]) for k, v in seqs.items()}
    W = N // rollout.S
    tables = {
        k: torch.from_numpy(v.reshape(T * W, *v.shape[2:])).to(device) for k, v in rollout.tables.items()
    }
    # sample t * N + n sees the tables of tick t, world n // S: row t * W + n // S of the flat tables
    table_row = (np.arange(T)[:, None] * W + np.arange(N)[None, :] // rollout.S).reshape(-1)
    extra: dict[str, np.ndarray] = {
        "actions": rollout.actions.reshape(T * N, -1),
        "log_probs": rollout.log_probs.reshape(-1),
        "values": rollout.values[:-1].reshape(-1),
        "advantages": advantages.reshape(-1),
        "returns": returns.reshape(-1),
    }
    extra_t = {k: torch.from_numpy(v).to(device) for k, v in extra.items()}
    steps = 0
    for _ in range(epochs):
        for index, seq in _minibatches(model, mine, minibatch, generator):
            if seq is None:  # feed-forward: a batch of samples
                at = torch.from_numpy(index).to(device)
                batch = {k: v[at] for k, v in flat.items()}
                batch.update(tables_for(tables, table_row[index], device))
                logits, value, _ = model(batch)
                tensors = {k: v[at] for k, v in extra_t.items()}
            else:  # recurrent: whole slots
                cols = seq
                cols_t = torch.from_numpy(cols).to(device)
                obs = {k: v[:, cols_t] for k, v in seqs.items()}
                obs.update(tables_for(tables, table_row.reshape(T, N)[:, cols], device))
                state0 = _take(rollout.state0[population], cols_t)
                starts = torch.from_numpy(rollout.starts[:, cols]).to(device)
                logits, value = model.forward_sequence(obs, state0, starts)
                keep_np = mine[:, cols].reshape(-1)
                keep = torch.from_numpy(keep_np).to(device)
                logits, value = [lg[keep] for lg in logits], value[keep]
                index = (np.arange(T)[:, None] * N + cols[None, :]).reshape(-1)[keep_np]
                at = torch.from_numpy(index).to(device)
                tensors = {k: v[at] for k, v in extra_t.items()}
            loss, info = ppo_loss(model, tensors, logits, value, clip, value_coef, entropy_coef)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
            for k, v in info.items():
                sums[k] = sums.get(k, 0.0) + v
            steps += 1
    for k, v in sums.items():
        setattr(stats, k, v / steps)
    stats.samples = int(mine.sum())
    stats.explained_variance = explained_variance(
        extra["values"][mine.reshape(-1)], extra["returns"][mine.reshape(-1)]
    )
    return stats


def _minibatches(model: Base, mine: np.ndarray, minibatch: int, generator: np.random.Generator):
    """Yield ``(flat sample indices, None)`` for feed-forward models, ``(None, slot columns)`` for
    recurrent ones."""
    T, N = mine.shape
    if not model.recurrent:
        index = np.flatnonzero(mine.reshape(-1))
        generator.shuffle(index)
        n_batches = max(1, round(len(index) / minibatch))
        for part in np.array_split(index, n_batches):
            yield part, None
        return
    cols = np.flatnonzero(mine.any(axis=0))
    generator.shuffle(cols)
    n_batches = max(1, round(len(cols) * T / minibatch))
    for part in np.array_split(cols, n_batches):
        yield None, np.sort(part)


def explained_variance(predicted: np.ndarray, target: np.ndarray) -> float:
    """1 - Var(target - predicted) / Var(target) (nan when the target is constant)."""
    var = float(np.var(target))
    return float("nan") if var == 0 else 1.0 - float(np.var(target - predicted)) / var
