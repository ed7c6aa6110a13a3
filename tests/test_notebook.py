"""The walkthrough notebook runs top to bottom."""

from __future__ import annotations

from pathlib import Path

import pytest

NB = Path(__file__).resolve().parents[1] / "notebooks" / "walkthrough.ipynb"


def test_walkthrough_notebook_runs():
    nbformat = pytest.importorskip("nbformat", reason="nbformat is a test dependency (pip install -e .[test])")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is a test dependency (pip install -e .[test])")
    nb = nbformat.read(NB, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(NB.parent)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "OS06" in text and "headroom.csv" in text
