"""Every relative link and picture in the README and docs/ names a file of the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def relative_targets(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # code blocks hold no links
    targets = [m.group(1).split("#", 1)[0] for m in LINK.finditer(text)]
    return [t for t in targets if t and not re.match(r"[a-z]+:", t)]


def test_links_and_pictures_resolve():
    missing = [
        f"{page.relative_to(ROOT)} -> {target}"
        for page in PAGES
        for target in relative_targets(page)
        if not (page.parent / target).exists()
    ]
    assert missing == []


def test_the_checker_sees_pictures_and_skips_web_addresses(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("![a](img/a.png) [b](b.md#part) [c](https://example.org/c) [d](#anchor)\n"
                    "```\n[e](e.md)\n```\n")  # fmt: skip
    assert relative_targets(page) == ["img/a.png", "b.md"]
    readme = relative_targets(ROOT / "README.md")
    assert "docs/research.md" in readme and "docs/images/research_exploration.png" in readme
