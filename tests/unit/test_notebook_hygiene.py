"""Every notebook as committed: numbered, no outputs, a papermill `parameters` cell, markdown that teaches."""

from __future__ import annotations

import nbformat
import pytest

from helpers.config import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean_and_parameterised(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert path.name[:2].isdigit() and path.name[2] == "_", "notebooks are numbered NN_name.ipynb"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "strip outputs (make strip)"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one code cell tagged `parameters` (papermill)"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), "open with a title"
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    assert len(markdown) >= len(code) / 2, "explain the why in markdown"
    assert max(len(c.source.splitlines()) for c in code) <= 25, "keep code cells short; logic goes in helpers/"
