"""How much memory a config needs, and refusing what the machine cannot hold.

The largest valid configs need gigabytes of observation buffers per world (65,536 agents, each
seeing 1,024 entity rows and a 65x65 window). :func:`estimate_memory` reports the bytes before
anything is allocated; :func:`check_memory`, called when a VecEnv (and so a PettingZoo env) is
built, refuses with a :class:`MemoryLimitError` a config that would take more than a share of the
machine's memory, rather than letting it swap or meet the out-of-memory killer half-built.

The share is ``memory_limit`` (a keyword of VecEnv, ``parallel_env`` and MultiprocessVecEnv), else
the environment variable ``NEURAL_MMO_MEMORY_LIMIT`` (for the command line), else
:data:`DEFAULT_SHARE`; ``math.inf`` turns the check off.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neural_mmo.config import Config, ConfigError
from neural_mmo.observe.layout import ObsLayout
from neural_mmo.world.state import Role, WorldState

DEFAULT_SHARE = 0.5
"""Share of the machine's memory a VecEnv may take unless told otherwise."""

ENV_VAR = "NEURAL_MMO_MEMORY_LIMIT"
"""Environment variable holding the default share (``inf``: no limit)."""

_PROBE_SIZES = (2, 3, 4)


class MemoryLimitError(ConfigError):
    """A config (with its number of worlds) needs more memory than the allowed share."""


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a VecEnv of ``num_worlds`` worlds of one config allocates when it is built.

    ``buffers`` are one world's share of the flat buffers (observations, per-slot outputs and
    flags, the action buffer: ``buffer_specs``); ``world`` is one world's state (tables, grids,
    regrowth queue, event log, lookup tables). The encoder's small work arrays are not counted.
    """

    num_worlds: int
    buffers: int
    world: int

    @property
    def per_world(self) -> int:
        return self.buffers + self.world

    @property
    def total(self) -> int:
        return self.num_worlds * self.per_world

    def describe(self) -> str:
        """One line: per world (buffers and state) and for all worlds."""
        line = (
            f"memory per world: {format_bytes(self.per_world)} (observation and step buffers "
            f"{format_bytes(self.buffers)}, world state {format_bytes(self.world)})"
        )
        if self.num_worlds != 1:
            line += f"; {self.num_worlds} worlds: {format_bytes(self.total)}"
        return line


def format_bytes(n: int) -> str:
    """``1536`` -> ``"1.5 KiB"`` (binary units, three significant digits)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _state_bytes(config: Config) -> int:
    state = WorldState.allocate(config)
    return sum(int(array.nbytes) for _, array in state.arrays(*Role))


def _resized(config: Config, size: int) -> Config:
    """``config`` with ``map.size = size``, its cross-field rules not checked: a probe is only
    allocated, so a rule tying some other number to the map's size (a minimum safe square, a
    spawn ring) need not hold on a 2-tile map."""
    probe = copy.copy(config)
    object.__setattr__(probe, "map", dataclasses.replace(config.map, size=size))
    return probe


def world_bytes(config: Config) -> int:
    """Bytes of one world's state, without allocating its grids: every part of a world is sized by
    the map linearly (its edge ring) or quadratically (its grids), so the exact size is the
    quadratic through worlds of 2, 3 and 4 tiles a side, evaluated at the real size. Their
    tables are allocated at full capacity (a few MB at most)."""
    x = config.map.size
    if x <= max(_PROBE_SIZES):  # a 1-tile map's edge ring is its one tile: not on the quadratic
        return _state_bytes(config)
    f2, f3, f4 = (_state_bytes(_resized(config, s)) for s in _PROBE_SIZES)
    # Lagrange through (2, f2), (3, f3), (4, f4); (x-3)(x-4) and (x-2)(x-3) are even
    return f2 * (x - 3) * (x - 4) // 2 - f3 * (x - 2) * (x - 4) + f4 * (x - 2) * (x - 3) // 2


def estimate_memory(config: Config, num_worlds: int = 1) -> MemoryEstimate:
    """The bytes a VecEnv of ``num_worlds`` worlds of ``config`` allocates (see
    :class:`MemoryEstimate`), computed without allocating the buffers or the grids."""
    from neural_mmo.envs.vector import buffer_specs

    specs = buffer_specs(ObsLayout(config), 1)
    buffers = sum(math.prod(shape) * np.dtype(dtype).itemsize for shape, dtype in specs.values())
    return MemoryEstimate(int(num_worlds), int(buffers), world_bytes(config))


def physical_memory() -> int | None:
    """Bytes of memory this process may use: the machine's physical memory, or the control group's
    limit when lower; None when the system does not say."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    if total <= 0:
        return None
    try:
        text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if text.isdigit():
            total = min(total, int(text))
    except OSError:
        pass
    return int(total)


def memory_share(memory_limit: float | None = None) -> float:
    """The share in force: ``memory_limit``, else ``$NEURAL_MMO_MEMORY_LIMIT``, else
    :data:`DEFAULT_SHARE`. A share is a number above 0 (``inf``: no limit)."""
    where = "memory_limit"
    value: object = memory_limit
    if memory_limit is None:
        text = os.environ.get(ENV_VAR)
        if text is None or not text.strip():
            return DEFAULT_SHARE
        where = ENV_VAR
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"{ENV_VAR}: {text!r} is not a number; give a share, e.g. 0.8 or inf") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{where}: {value!r} is not a share above 0; give e.g. 0.8 (math.inf: no limit)")
    return float(value)


def check_memory(config: Config, num_worlds: int, memory_limit: float | None = None) -> MemoryEstimate:
    """The estimate for ``num_worlds`` worlds of ``config``; a :class:`MemoryLimitError` naming the
    bytes needed, the bytes allowed and how to allow more when it exceeds the share in force of
    :func:`physical_memory`."""
    share = memory_share(memory_limit)
    estimate = estimate_memory(config, num_worlds)
    machine = physical_memory()
    if math.isinf(share) or machine is None:
        return estimate
    allowed = int(share * machine)
    if estimate.total > allowed:
        raise MemoryLimitError(
            f"{num_worlds} world(s) of this config need {estimate.total:,} bytes "
            f"({format_bytes(estimate.total)}; {estimate.describe()}), more than the {allowed:,} bytes "
            f"({format_bytes(allowed)}) allowed: memory_limit={share:g} of this machine's "
            f"{format_bytes(machine)}. To allow it, pass memory_limit=<share> (math.inf: no limit) to "
            f"VecEnv or parallel_env, or set {ENV_VAR}=<share> (also for the neural-mmo commands); to "
            "need less, use fewer worlds, spawn.n_agents, observe.n_entities or observe.vision_radius"
        )
    return estimate
