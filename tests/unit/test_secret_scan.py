"""The scan of executed notebooks for secret values (pure parts: reading outputs, matching)."""

from __future__ import annotations

import json

import nbformat

from helpers import secret_scan

SECRETS = {"API key demo-key": "k3yV4lue0123456789abcdefghijklmnopqrstuv", "secret demo": 'pa"ss-w0rd!X'}


def executed(tmp_path, source: str, output_text: str):
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output_text)]
    notebook.cells = [cell]
    path = tmp_path / "03_demo.ipynb"
    nbformat.write(notebook, path)
    return path


def test_a_value_in_an_output_is_found_by_its_label(tmp_path):
    path = executed(tmp_path, "print(key)", f"the key is {SECRETS['API key demo-key']}\n")
    assert [str(f) for f in secret_scan.scan([path], SECRETS)] == ["03_demo.ipynb: contains the value of API key demo-key"]


def test_a_value_with_json_escapes_is_found(tmp_path):
    path = executed(tmp_path, "print(secret)", json.dumps({"password": SECRETS["secret demo"]}))
    assert [f.secret for f in secret_scan.scan([path], SECRETS)] == ["secret demo"]


def test_sources_are_not_outputs_and_clean_outputs_pass(tmp_path):
    """The code may name a variable holding a secret; only what the notebook shows counts."""
    path = executed(tmp_path, f"# {SECRETS['API key demo-key']}", "value ****stuv\n")
    assert secret_scan.scan([path], SECRETS) == []


def test_html_renderings_are_scanned_whole(tmp_path):
    page = tmp_path / "03_demo.html"
    page.write_text(f"<pre>{SECRETS['API key demo-key']}</pre>")
    assert len(secret_scan.scan([page], SECRETS)) == 1


def test_an_html_escaped_value_is_found(tmp_path):
    page = tmp_path / "07_demo.html"
    page.write_text("<pre>pa&quot;ss-w0rd!X</pre>")
    assert [f.secret for f in secret_scan.scan([page], SECRETS)] == ["secret demo"]
