"""Every compiled function of the world and the encoder states whether it counts references
(``neural_mmo.world.kernel``): numba compiles a callee that states nothing with its first
caller's choice, so an undeclared one would run differently depending on who called it first."""

from __future__ import annotations

import importlib
import pkgutil

import numba
import numpy as np
import pytest
from numba.core.registry import CPUDispatcher

import neural_mmo.observe
import neural_mmo.world
from neural_mmo.world.kernel import kernel
from neural_mmo.world.step import tick


def compiled_functions() -> list[tuple[str, CPUDispatcher]]:
    found = []
    for package in (neural_mmo.world, neural_mmo.observe):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if isinstance(value, CPUDispatcher) and value.py_func.__module__ == module.__name__:
                    found.append((f"{module.__name__}.{name}", value))
    return found


def test_the_world_and_encoder_are_made_of_kernels():
    functions = compiled_functions()
    assert len(functions) > 100  # the walk found the systems, not an empty package
    undeclared = [name for name, f in functions if "_nrt" not in f.targetoptions]
    assert undeclared == [], f"compile these with @kernel: {undeclared}"


def test_the_tick_counts_no_references_and_the_generator_does():
    from neural_mmo.world.noise import fbm_grid

    assert tick.targetoptions["_nrt"] is False
    assert fbm_grid.targetoptions["_nrt"] is True  # it returns a new array


def test_a_kernel_that_allocates_does_not_compile():
    @kernel
    def allocates(n: int) -> float:
        return float(np.zeros(n).sum())

    @kernel(allocates=True)
    def declared(n: int) -> float:
        return float(np.zeros(n).sum())

    with pytest.raises(numba.core.errors.NumbaError):
        allocates(3)
    assert declared(3) == 0.0


def test_a_kernel_reads_and_writes_the_arrays_it_is_given():
    @kernel
    def bump(a: np.ndarray, rows: tuple) -> int:
        for k in range(a.shape[0]):
            a[k] += 1
        rows[0][0] = 7
        return int(a.sum())

    a, b = np.arange(4), np.zeros(2, np.int64)
    assert bump(a, (b, a)) == 10
    assert a.tolist() == [1, 2, 3, 4] and b.tolist() == [7, 0]
