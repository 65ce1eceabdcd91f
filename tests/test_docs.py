"""Generated reference pages: current with the code, and complete."""

from __future__ import annotations

from pathlib import Path

from neural_mmo.config import field_docs
from neural_mmo.docs import observation_markdown, rules_markdown, system_modules
from neural_mmo.world.materials import Material

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_committed_pages_are_current():
    assert (DOCS / "rules.md").read_text() == rules_markdown(), "run `neural-mmo docs` to regenerate"
    assert (DOCS / "observation.md").read_text() == observation_markdown(), "run `neural-mmo docs`"


def test_rules_page_names_every_config_field_and_material():
    text = rules_markdown()
    for key, _ in field_docs():
        assert f"`{key}`" in text
    for m in Material:
        assert f"| {m.name.lower()} |" in text
    for title in ("Movement", "Foraging", "Vitals", "Death", "Regrowth", "Spawning"):
        assert f"## {title}" in text


def test_every_system_module_is_on_the_rules_page_in_tick_order():
    """A system module is found, not listed: each has a section titled from its docstring, the
    ones the tick calls in the tick's order."""
    import pkgutil

    from neural_mmo.world import systems

    names = [m.__name__.rsplit(".", 1)[1] for m in system_modules()]
    assert sorted(names) == sorted(info.name for info in pkgutil.iter_modules(systems.__path__))
    assert names.index("combat") < names.index("npc") < names.index("movement") < names.index("spawning")
    page = rules_markdown()
    for module in system_modules():
        title = (module.__doc__ or "").strip().split(":", 1)[0]
        assert f"\n## {title}\n" in page, title
