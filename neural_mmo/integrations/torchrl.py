"""Neural MMO as a TorchRL environment, with action masks (extra ``[torchrl]``).

::

    from torchrl.envs.utils import check_env_specs
    from neural_mmo.integrations.torchrl import make_env, MaskedRandomPolicy

    env = make_env("small", horizon=100)
    check_env_specs(env)
    rollout = env.rollout(100, policy=MaskedRandomPolicy(env))

:func:`make_env` is :class:`NeuralMMOTorchRLEnv`, TorchRL's ``PettingZooWrapper`` (converting
whole groups at once) over the PettingZoo env with one name per agent slot (every name present
from reset to the episode's end, as TorchRL needs) and ``MultiDiscrete([move, attack])`` actions.
All slots form one group, ``"player"``, so every tensor has a leading dimension of ``n_agents``:

* ``("player", "observation")``: the observation's parts (``tiles``, ``entities``,
  ``entity_mask``; or one flat vector with ``observation_format="flat"``);
* ``("player", "action_mask")``: bool ``[n_agents, 5 + 1 + 3 * n_entities]``, the allowed values of
  both heads side by side (an empty slot allows only the no-ops);
* ``("player", "action")``: int ``[n_agents, 2]`` (move, attack);
* ``("player", "info", ...)``: ``agent_id``, ``alive``, ``spawned``, ``died``, ``invalid_actions``.

TorchRL applies action masks to its specs for single categorical actions only, so a policy must
read ``action_mask`` itself: :class:`MaskedRandomPolicy` draws allowed values uniformly, and
:func:`masked_logits` masks a network's logits (see docs/integrations.md for a learning recipe).
Masked or invalid actions are no-ops in the game either way.
"""

from __future__ import annotations

from typing import Any

from neural_mmo.integrations import missing

try:
    import numpy as np
    import torch
    from tensordict import TensorDictBase
    from torchrl.envs.libs.pettingzoo import PettingZooWrapper
except ImportError as _err:
    raise missing("TorchRL", "torchrl", _err) from None

from neural_mmo.envs.parallel import NeuralMMOParallelEnv

GROUP = "player"
"""The TorchRL group holding every agent slot."""


def make_env(preset: str | None = None, *, device: str | torch.device = "cpu", **kwargs: Any) -> Any:
    """A TorchRL ``PettingZooWrapper`` over ``neural_mmo.parallel_env(preset, **kwargs)`` with slot
    names and MultiDiscrete actions (see the module docs). ``kwargs``: ``observation_format``
    (``"dict"`` or ``"flat"``), ``seed``, ``reward_fn``, config overrides such as ``horizon``."""
    for key, value in (("agent_names", "slot"), ("action_format", "multidiscrete")):
        if kwargs.get(key, value) != value:
            raise ValueError(f"the TorchRL env needs {key}={value!r}, got {kwargs[key]!r}")
        kwargs[key] = value
    seed = kwargs.get("seed", 0)
    env = NeuralMMOParallelEnv(preset, **kwargs)
    return NeuralMMOTorchRLEnv(env, categorical_actions=True, use_mask=False, device=device, seed=seed)


class NeuralMMOTorchRLEnv(PettingZooWrapper):
    """TorchRL's ``PettingZooWrapper`` with its per-step conversion done for the whole group at once.

    The wrapper it extends converts each agent's observation, mask, reward and infos to tensors
    one agent at a time, through a spec indexed per agent (which copies the spec's bounds every
    time): about one tick per second for 64 agent slots. Here every slot name is present from
    reset to the episode's end, so each part is stacked over the group and copied into the output
    tensordict in one go; the specs and the outputs are the same as the wrapper's (a test compares
    them)."""

    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs: Any) -> TensorDictBase:
        if tensordict is not None:
            flags = tensordict.get("_reset", None)
            if flags is not None and not flags.all():
                raise RuntimeError(f"{type(self).__name__} resets only as a whole, got _reset={flags}")
        observations, infos = self._reset_parallel(**kwargs)
        out = self.cached_reset_output_zero.clone()
        self._fill(out, observations, infos)
        return out

    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        observations, rewards, terminations, truncations, infos = self._step_parallel(tensordict)
        out = self.cached_step_output_zero.clone()
        self._fill(out, observations, infos)
        for group, names in self.group_map.items():
            if not observations:
                continue  # a step after the episode's end: zeros, as the wrapper gives
            for key, values in (
                ("reward", rewards),
                ("terminated", terminations),
                ("truncated", truncations),
            ):
                column = np.array([values[name] for name in names])
                out.get((group, key)).copy_(torch.from_numpy(column).unsqueeze(-1))
            out.get((group, "done")).copy_(out.get((group, "terminated")) | out.get((group, "truncated")))
        done, terminated, truncated = self._aggregate_done(out, use_any=self.done_on_any)
        out.set("done", done)
        out.set("terminated", terminated)
        out.set("truncated", truncated)
        return out

    def _fill(self, out: TensorDictBase, observations: dict, infos: dict) -> None:
        """Observations, action masks and infos of every group, stacked over the group."""
        for group, names in self.group_map.items():
            missing_names = [name for name in names if name not in observations]
            if observations and missing_names:
                raise ValueError(f"agents {missing_names} have no observation (slot names show every slot)")
            if self.has_action_mask[group]:
                mask = out.get((group, "action_mask"))
                mask.fill_(True)  # agents not acting (none, or all after the episode's end)
                if self.agents:  # in the observation (dict format) or in infos (flat format)
                    holders = [
                        o if isinstance(o, dict) else infos[n]
                        for n, o in zip(names, map(observations.get, names))
                    ]
                    mask.copy_(torch.from_numpy(np.stack([h["action_mask"] for h in holders])))
            if not observations:
                continue
            target = out.get((group, "observation"))
            if isinstance(target, torch.Tensor):
                target.copy_(torch.from_numpy(np.stack([observations[name] for name in names])))
            else:
                for key in target.keys():
                    column = np.stack([observations[name][key] for name in names])
                    target.get(key).copy_(torch.from_numpy(column))
            info = out.get((group, "info"), None)
            if info is not None:
                for key in info.keys():
                    column = np.array([infos[name][key] for name in names])
                    info.get(key).copy_(torch.from_numpy(column).reshape(info.get(key).shape))
        if self.return_state:
            out.set("state", self.observation_spec["state"].encode(self.state()))


def head_sizes(env: Any) -> list[int]:
    """The number of values of each action head (``[5, 1 + 3 * n_entities]``), from the spec."""
    spec = env.full_action_spec[GROUP, "action"]
    return [int(n) for n in spec.nvec[0].tolist()]


def masked_logits(logits: torch.Tensor, mask: torch.Tensor, sizes: list[int]) -> list[torch.Tensor]:
    """Per head, ``logits`` ``[..., sum(sizes)]`` with the values ``mask`` forbids set to the
    lowest float (probability exactly 0 after a softmax)."""
    low = torch.finfo(logits.dtype).min
    return [part.masked_fill(~allowed, low)
            for part, allowed in zip(logits.split(sizes, -1), mask.bool().split(sizes, -1))]  # fmt: skip


class MaskedRandomPolicy:
    """A TorchRL policy (a callable on tensordicts) drawing every head's value uniformly among the
    values its ``action_mask`` allows."""

    def __init__(self, env: Any, seed: int = 0):
        self.sizes = head_sizes(env)
        self.generator = torch.Generator(device=env.device).manual_seed(seed)

    def __call__(self, tensordict: TensorDictBase) -> TensorDictBase:
        mask = tensordict.get((GROUP, "action_mask"))
        noise = torch.rand(mask.shape, generator=self.generator, device=mask.device)
        heads = masked_logits(noise, mask, self.sizes)
        action = torch.stack([head.argmax(-1) for head in heads], dim=-1)
        tensordict.set((GROUP, "action"), action)
        return tensordict


__all__ = ["GROUP", "MaskedRandomPolicy", "NeuralMMOTorchRLEnv", "head_sizes", "make_env", "masked_logits"]
