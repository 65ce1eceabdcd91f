"""docs/extending.md's claim about the fog: the package names it in six files, those the page lists."""

from __future__ import annotations

import re
from pathlib import Path

import neural_mmo

ROOT = Path(neural_mmo.__file__).parent
PAGE = ROOT.parent / "docs" / "extending.md"


def test_the_fog_lives_in_the_six_package_files_the_page_lists():
    naming = {
        path.relative_to(ROOT.parent).as_posix()
        for path in ROOT.rglob("*")
        if path.suffix in {".py", ".js", ".html", ".css"} and re.search("fog", path.read_text(), re.I)
    }
    section = PAGE.read_text().split("## Files the fog touches", 1)[1].split("\n\n")[2]
    listed = set(re.findall(r"^\| `(neural_mmo/[^`]+)` \|", section, re.M))
    assert len(listed) == 6
    assert naming == listed
