"""Generated reference pages: current with the code, and complete."""

from __future__ import annotations

from pathlib import Path

from neural_mmo.config import field_docs
from neural_mmo.docs import observation_markdown, rules_markdown
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
