"""`make run`'s runner: a failing notebook is reported with its cell, and its HTML is still written."""

from __future__ import annotations

import nbformat

from helpers import runner


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 99 · probe")])
    nb.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    nb.cells[1].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_a_failing_cell_is_named_and_the_html_is_written(tmp_path):
    source = _notebook(tmp_path / "98_probe.ipynb", "divisor = 1", "x = 1", "1 / (divisor - 1)")
    result = runner.execute(source, {"divisor": 1}, output_dir=tmp_path / "out")
    assert result.status == "failed"
    assert "ZeroDivisionError" in result.failure and result.failure.startswith("In [")
    assert (tmp_path / "out" / "98_probe.html").exists()


def test_parameters_reach_the_notebook(tmp_path):
    source = _notebook(tmp_path / "97_probe.ipynb", "divisor = 1", "assert divisor == 2")
    assert runner.execute(source, {"divisor": 2}, output_dir=tmp_path / "out").status == "passed"
