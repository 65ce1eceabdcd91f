"""Space formats of the PettingZoo env: a flat ``Box`` observation and a ``MultiDiscrete`` action.

The default observation is a dict of arrays and the default action a dict of heads. Some trainers
and wrappers take only one ``Box`` observation (SuperSuit's ``black_death``, ``pad_observations``
and ``flatten``, Stable-Baselines3's ``MlpPolicy``) or one ``MultiDiscrete`` action whose mask is
the heads' masks concatenated (TorchRL); these formats give them that without an adapter.

Flat observation: every field of the :class:`~neural_mmo.observe.layout.ObsLayout`, in field order
(``tiles``, ``entities``, ``entity_mask``, ``action_mask``), raveled in C order and concatenated
into one ``float32`` vector (every value is a small integer, exact in float32).
:class:`FlatObservation` says where each part lies (``slices``, ``shapes``) and turns flat vectors
back into the dict (``unflatten``), batches included.

MultiDiscrete action: one integer per head, in head order (``[move, attack]``); its flat mask is
the observation's ``action_mask`` as it is, and :class:`MultiDiscreteActions` ``sample`` takes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from neural_mmo.observe.layout import ObsLayout

OBSERVATION_FORMATS = ("dict", "flat")
ACTION_FORMATS = ("dict", "multidiscrete")


class FlatObservation:
    """Where each part of an observation lies in its flat ``float32`` vector.

    Attributes:
        slices: ``{key: slice}`` of each part in the flat vector (field order).
        shapes: ``{key: shape}`` of each part (one agent's, without batch dimensions).
        dtypes: ``{key: dtype}`` of each part in the dict format.
        size: length of the flat vector.
        space: the ``Box`` of flat observations (the parts' bounds, concatenated).
    """

    dtype = np.dtype(np.float32)

    def __init__(self, layout: ObsLayout):
        self.slices: dict[str, slice] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.dtypes: dict[str, np.dtype] = {}
        offset = 0
        for f in layout.fields:
            size = int(np.prod(f.shape))
            self.slices[f.key] = slice(offset, offset + size)
            self.shapes[f.key] = f.shape
            self.dtypes[f.key] = f.dtype
            offset += size
        self.size = offset
        low = np.concatenate([np.asarray(f.low, np.float32).ravel() for f in layout.fields])
        high = np.concatenate([np.asarray(f.high, np.float32).ravel() for f in layout.fields])
        self.space = spaces.Box(low=low, high=high, shape=(self.size,), dtype=np.float32)

    def flatten(self, obs: Mapping[str, np.ndarray]) -> np.ndarray:
        """A dict observation (or a batch of them: arrays with the same leading dimensions) as flat
        ``float32`` vectors ``[..., size]``."""
        first = next(iter(self.shapes))
        lead = np.shape(obs[first])[: np.ndim(obs[first]) - len(self.shapes[first])]
        out = np.empty((*lead, self.size), np.float32)
        for key, part in self.slices.items():
            value = np.asarray(obs[key])
            if value.shape != (*lead, *self.shapes[key]):
                raise ValueError(
                    f"{key} has shape {value.shape}; expected {(*lead, *self.shapes[key])} "
                    f"(leading dimensions {lead} taken from {first})"
                )
            out[..., part] = value.reshape(*lead, -1)
        return out

    def unflatten(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Flat vectors ``[..., size]`` back into the dict format, each part with its own dtype
        and shape (fresh arrays)."""
        flat = np.asarray(flat)
        if flat.ndim < 1 or flat.shape[-1] != self.size:
            raise ValueError(
                f"a flat observation has {self.size} values in its last dimension, got {flat.shape}"
            )
        lead = flat.shape[:-1]
        return {
            key: flat[..., part].reshape(*lead, *self.shapes[key]).astype(self.dtypes[key])
            for key, part in self.slices.items()
        }

    def part(self, flat: np.ndarray, key: str) -> np.ndarray:
        """One part of flat vectors, reshaped (a view, still float32)."""
        flat = np.asarray(flat)
        return flat[..., self.slices[key]].reshape(*flat.shape[:-1], *self.shapes[key])

    def markdown(self) -> str:
        """The offsets table of the docs."""
        lines = ["| part | first | last + 1 | shape | dtype in the dict format |", "|---|---|---|---|---|"]
        for key, part in self.slices.items():
            lines.append(
                f"| `{key}` | {part.start} | {part.stop} | {self.shapes[key]} | {self.dtypes[key]} |"
            )
        return "\n".join(lines)


class MultiDiscreteActions(spaces.MultiDiscrete):
    """``MultiDiscrete([head sizes])`` whose ``sample(mask)`` also takes the flat ``action_mask``
    (any numeric dtype: an int8 mask, or the float32 part of a flat observation)."""

    def __init__(self, layout: ObsLayout):
        super().__init__(layout.action_sizes.copy(), dtype=np.int64)
        self._split = [(int(o), int(n)) for o, n in zip(layout.action_offsets, layout.action_sizes)]

    def sample(self, mask: Any = None, probability: Any = None) -> np.ndarray:  # type: ignore[override]
        if isinstance(mask, np.ndarray) and mask.ndim == 1:
            mask = tuple(mask[o : o + n].astype(np.int8) for o, n in self._split)
        return super().sample(mask=mask, probability=probability)


def check_format(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``, else a ValueError naming the argument."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value
