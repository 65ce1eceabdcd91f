"""How the world's and the encoder's compiled functions are compiled: ``@kernel``.

``@kernel`` is ``numba.njit(cache=True)`` with numba's reference counting off. Kernels read and
write the arrays the Python side made (the world record, the observation buffers) and allocate
nothing, so they need no reference counts, and counting is not free: a compiled call that
receives the world record (a tuple of some eighty arrays) increments and decrements the count of
every array in it, about 1 µs per call (measured: an empty call taking ``world`` and ``rules``
costs 990 ns with counting, under 1 ns without). The tick makes some twenty such calls per
world; the observation encoder more. Without counting, a call costs what a C call costs.

Rules that follow:

* A kernel never allocates (``np.empty``, ``a.copy()``, array arithmetic, a slice assigned from
  an array) and returns no array but one it was given: numba refuses to compile it otherwise
  ("NRT required but not enabled", "Only accept returning of array passed into the function as
  argument"), so the mistake is loud.
  Work space is a buffer made once beside the arrays it serves (``WORK`` parts of the world,
  the encoder's ``market_best``).
* A function that must allocate is ``@kernel(allocates=True)`` (counting on, as plain numba).
* Every compiled function a kernel calls is itself a ``@kernel``: numba compiles a callee that
  states no choice with its first caller's, so an undeclared callee would count references or
  not depending on who called it first (``tests/world/test_kernels.py`` checks the declarations).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

import numba

F = TypeVar("F", bound=Callable[..., Any])


@overload
def kernel(function: F) -> F: ...


@overload
def kernel(*, inline: bool = False, allocates: bool = False) -> Callable[[F], F]: ...


def kernel(function: Any = None, *, inline: bool = False, allocates: bool = False) -> Any:
    """Compile ``function`` with ``numba.njit(cache=True)``, reference counting off unless it
    ``allocates``; ``inline=True`` inlines it into its callers (numba's ``inline="always"``)."""
    options: dict[str, Any] = {"cache": True, "_nrt": allocates}
    if inline:
        options["inline"] = "always"

    def compile_(f: F) -> F:
        return numba.njit(**options)(f)  # type: ignore[no-any-return]

    return compile_(function) if function is not None else compile_
