"""The walkthrough notebook runs top to bottom."""

from __future__ import annotations

import re
from pathlib import Path

import nbclient  # test dependencies (pip install -e .[test]): a missing one fails, it does not skip
import nbformat

NB = Path(__file__).resolve().parents[1] / "notebooks" / "walkthrough.ipynb"


def test_walkthrough_notebook_runs():
    nb = nbformat.read(NB, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(NB.parent)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "OS06" in text and "headroom.csv" in text
    # OS06 in 2030 by hand (test_example_region.py): 40 MW firm, 32.32 existing + 7.01 new -> 0.67 MW left
    assert re.search(r"\b2030 +40\.0 +32\.32 +7\.01 +0\.67\b", text), text
