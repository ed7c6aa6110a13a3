"""The README's reference sections are generated from their single sources and must be current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spatialprog.docs import SECTIONS

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_readme_section_is_current(name):
    text = README.read_text(encoding="utf-8")
    m = re.search(rf"<!-- {name}:start -->\n(.*?)\n<!-- {name}:end -->", text, re.S)
    assert m, f"README has no {name} section"
    assert m.group(1).strip() == SECTIONS[name]().strip(), "README is stale: run `make docs`"


def test_readme_gives_the_two_commands_ci_uses():
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "make test" in ci
