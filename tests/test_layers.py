"""Data flows one way (DESIGN.md section 2): every import of every module of the package, lazy ones
inside functions included, read from the source with ``ast``, goes down the layer order below."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import neural_mmo

PACKAGE = Path(neural_mmo.__file__).parent

LAYERS: tuple[frozenset[str], ...] = tuple(
    frozenset(names.split())
    for names in (
        "files _kernel_cache",  # reading regular files only; where compiled kernels are cached
        "config",
        "world",
        "observe",
        "tasks render stats",  # rewards, rgb frames, run statistics
        "replay",  # the file format (an env records with record=; video renders frames)
        "envs",
        "agents integrations docs",  # agents: the scripted policies and the play loop over envs
        "testing bench viewer",
        "train",  # train's overlays plug into the viewer
        "research",  # tournaments, maps and experiments use the trainer and its checkpoints
        "cli",
    )
)
"""Parts of the package, lowest first: a part imports only parts of lower layers (and itself).
The package's ``__init__`` (the public API) is above them all."""

RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in layer}


def part_of(path: Path) -> str | None:
    """The part a source file belongs to (``world`` for ``world/step.py``, ``cli`` for ``cli.py``),
    None for the package's ``__init__``."""
    rel = path.relative_to(PACKAGE)
    if rel == Path("__init__.py"):
        return None
    if rel == Path("train/cli.py"):
        return "cli"  # the train and eval commands: part of the command line, kept beside training
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = ("neural_mmo", *rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, text: str | None = None) -> list[tuple[int, str]]:
    """``(line, absolute module name)`` of every import in the file (relative ones resolved);
    ``text`` stands for the file's contents when given."""
    tree = ast.parse(path.read_text(encoding="utf-8") if text is None else text, str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            out.append((node.lineno, name))
            if name == "neural_mmo":  # ``from neural_mmo import world``: the names are parts
                out.extend((node.lineno, f"neural_mmo.{alias.name}") for alias in node.names)
    return out


SOURCES = sorted(PACKAGE.rglob("*.py"))


def internal_imports() -> list[tuple[str, str, str]]:
    """``(importing part, imported part, "file:line")`` for every import of the package by itself."""
    out = []
    for path in SOURCES:
        part = part_of(path)
        for line, name in imports(path):
            pieces = name.split(".")
            if pieces[0] != "neural_mmo" or len(pieces) < 2 or part is None:
                continue
            out.append((part, pieces[1], f"{path.relative_to(PACKAGE.parent)}:{line}"))
    return out


def third_party(part: str) -> set[str]:
    """Top-level names of the modules outside the package and the standard library that ``part``
    imports."""
    names = set()
    for path in SOURCES:
        if part_of(path) == part:
            for _, name in imports(path):
                top = name.split(".")[0]
                if top and top != "neural_mmo" and top not in sys.stdlib_module_names:
                    names.add(top)
    return names


def violations(part: str, allowed: set[str]) -> list[str]:
    return [f"{where} imports neural_mmo.{used}" for p, used, where in internal_imports()
            if p == part and used != part and used not in allowed]  # fmt: skip


def test_the_import_reader_sees_lazy_relative_and_package_imports():
    found = [name for _, name in imports(PACKAGE / "agents" / "base.py")]
    assert "neural_mmo.observe.layout" in found
    assert "neural_mmo.agents" in found, "the lazy import inside make_policy is read"
    text = "from . import base\nfrom ..envs import vector\ndef f():\n    from neural_mmo import train\n"
    names = {name for _, name in imports(PACKAGE / "agents" / "x.py", text)}
    assert names == {"neural_mmo.agents", "neural_mmo.envs", "neural_mmo", "neural_mmo.train"}


def test_every_part_of_the_package_has_a_layer():
    parts = {part_of(path) for path in SOURCES} - {None}
    assert parts <= set(RANK), f"place {sorted(parts - set(RANK))} in LAYERS (tests/test_layers.py)"


def test_imports_go_down_the_layers():
    upward = [f"{where}: {part} (layer {RANK[part]}) imports neural_mmo.{used} (layer {RANK.get(used)})"
              for part, used, where in internal_imports()
              if used != part and RANK.get(used, len(LAYERS)) >= RANK[part]]  # fmt: skip
    assert not upward, "\n".join(upward)


def test_world_imports_nothing_above_it():
    assert not violations("world", {"config", "_kernel_cache", "files"})
    assert third_party("world") <= {"numpy", "numba"}, "no gymnasium, torch, websockets in the world"


def test_observe_imports_only_the_world_and_the_config():
    assert not violations("observe", {"world", "config", "_kernel_cache", "files"})


def test_replay_imports_nothing_that_plays():
    """The file format reads and writes world states; it never drives envs or policies."""
    drivers = {"envs", "agents", "train", "viewer", "cli", "research", "testing", "bench"}
    assert not violations("replay", set(RANK) - drivers)


@pytest.mark.parametrize(
    ("module", "only_in"),
    # integrations: the TorchRL env speaks torch tensors (imported only with its extra)
    [("torch", {"train", "research", "integrations"}), ("websockets", {"viewer"})],
)
def test_heavy_dependencies_stay_in_their_parts(module, only_in):
    users = {part for part in RANK if module in third_party(part)}
    assert users <= only_in, f"{module} is imported by {sorted(users - only_in)}"
