"""Game systems: one module per rule set, each a numba kernel over the state's arrays plus a
thin wrapper that :mod:`neural_mmo.world.step` calls in order.

Besides its kernels, a system module may define ``shaded_areas(state)``: the rectangles of the map
it marks this tick (``[row, col, rows, cols]`` each), which the viewer shades in the system's
colour; :func:`shaded_areas` collects them from every module.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any


@functools.cache
def system_modules() -> tuple[ModuleType, ...]:
    """Every module of this package: first those whose kernels the tick calls, in the tick's order
    (its table in :mod:`neural_mmo.world.step`), then the others by name. A new system module is
    found without being listed anywhere."""
    from neural_mmo.world import step as step_module

    modules = [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)]
    order: dict[str, int] = {}
    for name in re.findall(r"^\|[^|]*\|\s*\(?``(\w+)``", step_module.__doc__ or "", re.MULTILINE):
        kernel = getattr(step_module, name, None)
        home = getattr(getattr(kernel, "py_func", kernel), "__module__", None)
        if home is not None:
            order.setdefault(home, len(order))
    return tuple(sorted(modules, key=lambda m: (order.get(m.__name__, len(order)), m.__name__)))


@functools.cache
def _shaders() -> tuple[tuple[str, Callable[[Any], list[list[int]]]], ...]:
    return tuple(
        (module.__name__.rsplit(".", 1)[1], module.shaded_areas)
        for module in system_modules()
        if callable(getattr(module, "shaded_areas", None))
    )


def shaded_areas(state: Any) -> dict[str, list[list[int]]]:
    """``{system: [[row, col, rows, cols], ...]}``: what each system module's ``shaded_areas(state)``
    marks on the map this tick (systems that mark nothing are left out)."""
    areas = {}
    for name, shade in _shaders():
        rects = shade(state)
        if rects:
            areas[name] = rects
    return areas
