"""Regenerate the README's reference sections from their single sources.

* layer reference   <- spatialprog.kinds.LAYER_KINDS (the registry of layer kinds)
* parameters        <- data/parameters.toml
* status classes    <- data/status_classes.csv

Run ``make docs``; tests/test_docs.py fails when the README is stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spatialprog.docs import SECTIONS  # noqa: E402


def update(text: str) -> str:
    for name, render in SECTIONS.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        pat = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
        if not pat.search(text):
            raise SystemExit(f"README.md has no {start} ... {end} markers")
        block = f"{start}\n{render().strip()}\n{end}"
        text = pat.sub(lambda m, b=block: b, text)
    return text


def main() -> int:
    readme = ROOT / "README.md"
    old = readme.read_text(encoding="utf-8")
    new = update(old)
    if new != old:
        tmp = readme.with_suffix(".md.tmp")
        tmp.write_text(new, encoding="utf-8")
        tmp.replace(readme)
        print("README.md updated")
    else:
        print("README.md up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
