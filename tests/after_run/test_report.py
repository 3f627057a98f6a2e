"""After ``python -m helpers.runner``: the report says every notebook passed, its key figures agree
with what notebooks 03-09 streamed and loaded, and its charts are embedded.

The expected values come from the notebooks as they ran (each executed copy's parameters cell, then
the parameters papermill injected) applied to the bundled sample, never from numbers written here.
Figures that count distinct things (events, invoices, customers) must match exactly; figures that
count copies (records, lines, rows of a table loaded at least once) only bound them from below, since
a run on a cloud that an earlier run left behind adds copies but no new distinct thing.

Reads ``$WORKBOOK_BUILD_DIR`` (else build/): report.json, report.html, executed/. Fails, never
skips, when they are missing.
"""

from __future__ import annotations

import ast
import base64
import html
import json
import re
from functools import cache
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from helpers import client, config, data, run_report

BUILD = config.BUILD_DIR
NOTEBOOKS = config.REPO_ROOT / "notebooks"
# Notebooks that send `rows` rows of the sample, from `offset`, through the API (client.stream_rows).
STREAMING_NOTEBOOKS = ("04", "05", "07")
FIREHOSE_NOTEBOOK = "07"  # its delivery stream reads the Kinesis stream from its creation on (LATEST)


def _read(path: Path) -> str:
    if not path.is_file():
        pytest.fail(f"{path} does not exist: run `python -m helpers.runner` first (WORKBOOK_BUILD_DIR={BUILD})")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def report() -> dict:
    return json.loads(_read(BUILD / "report.json"))


@pytest.fixture(scope="module")
def page() -> str:
    return _read(BUILD / "report.html")


@pytest.fixture(scope="module")
def figures(report) -> dict:
    assert report["figures"], "the report has no key figures"
    return {key: figure["value"] for key, figure in report["figures"]["figures"].items()}


def _assignments(source: str) -> dict:
    values = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


@cache
def parameters(number: str) -> dict:
    """What the notebook ran with: its parameters cell, then papermill's injected-parameters cell."""
    executed = sorted((BUILD / "executed").glob(f"{number}_*.ipynb"))
    assert executed, f"no executed copy of notebook {number} in {BUILD / 'executed'}"
    notebook = nbformat.read(executed[0], as_version=4)
    values: dict = {}
    for tag in ("parameters", "injected-parameters"):
        for cell in notebook.cells:
            if tag in cell.metadata.get("tags", []):
                values.update(_assignments(cell.source))
    return values


@cache
def sample() -> pd.DataFrame:
    return data.load_invoices(data.sample_path())


def sent_by(number: str) -> pd.DataFrame:
    """The sample rows a notebook sent through the API and the API accepted."""
    if number == "03":  # one event: the sample's last sale to a known customer (its [good, bad] batch is refused whole)
        invoices = sample()
        return invoices[(invoices["Quantity"] > 0) & invoices["CustomerID"].notna()].tail(1)
    p = parameters(number)
    return client.select_rows(sample(), limit=p["rows"], offset=p["offset"])


def event_ids(frame: pd.DataFrame, source_name: str = data.SAMPLE_FILE) -> set[str]:
    return {client.event_id(source_name, int(position)) for position in frame.index}


def backfilled() -> set[str]:
    """The events notebook 10 COPYs into the stream table, if it ran with load_full_sample."""
    ran = sorted((BUILD / "executed").glob("10_*.ipynb"))
    if not ran or not parameters("10").get("load_full_sample"):
        return set()
    other_file = parameters("10").get("backfill_file")  # a parameter in some versions of notebook 10
    path = config.REPO_ROOT / other_file if other_file else data.sample_path()
    return event_ids(data.load_invoices(path), path.name)


@cache
def streamed() -> pd.DataFrame:
    """Every row the run's notebooks 03-07 sent, once (the same row sent twice has one EventId)."""
    frames = [sent_by(number) for number in ("03", *STREAMING_NOTEBOOKS)]
    rows = pd.concat(frames)
    return rows[~rows.index.duplicated()]


def test_every_notebook_ran_and_passed(report):
    in_repo = sorted(path.name for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    ran = {n["notebook"]: n for n in report["notebooks"]}
    missing = sorted(set(in_repo) - set(ran))
    assert not missing, f"the run did not cover {missing}"
    failed = {name: (n["status"], n["failure"]) for name, n in ran.items() if n["status"] != "passed"}
    assert not failed and report["all_passed"]


def test_the_figures_were_read_after_the_last_notebook_before_teardown(report):
    before_teardown = [n["notebook"] for n in report["notebooks"] if int(n["notebook"][:2]) < 99]
    assert report["figures"]["taken_after"] == before_teardown[-1]
    unread = {key: f["note"] for key, f in report["figures"]["figures"].items() if f["status"] != "ok"}
    assert not unread, f"figures not read: {unread}"


def test_rows_streamed_are_the_rows_the_notebooks_sent(figures):
    assert figures["rows_streamed"] == len(streamed())
    sends = sum(len(sent_by(number)) for number in ("03", *STREAMING_NOTEBOOKS))  # 04 and 05 send the same rows
    assert figures["kinesis_records"] >= sends
    assert figures["raw_lines"] >= figures["rows_streamed"] and figures["s3_raw_objects"] >= 1


def test_dynamodb_holds_one_item_per_invoice_and_per_customer_streamed(figures):
    names = config.settings().names
    assert figures[f"dynamodb_{names.invoice_table}_items"] == streamed()["InvoiceNo"].nunique()
    assert figures[f"dynamodb_{names.customer_table}_items"] == streamed()["CustomerID"].dropna().nunique()


def test_redshift_holds_the_streamed_rows(figures):
    names = config.settings().names
    # Notebook 08's Glue job loads every event of the raw layer once; notebook 09 adds only new objects.
    assert figures[f"redshift_events_{names.redshift_table}"] == figures[f"redshift_rows_{names.redshift_table}"] == len(streamed())
    # Firehose (notebook 07) loads what was put on the stream after its creation: 07's rows at least,
    # at least once; notebook 10 may then backfill the sample's other lines, each once.
    firehose_events = figures[f"redshift_events_{names.redshift_stream_table}"]
    assert len(event_ids(sent_by(FIREHOSE_NOTEBOOK)) | backfilled()) <= firehose_events <= len(event_ids(streamed()) | backfilled())
    assert figures[f"redshift_rows_{names.redshift_stream_table}"] >= firehose_events
    assert figures["s3_firehose_objects"] >= 1


def test_the_warehouse_charged_rpu_seconds_and_dollars(report, figures):
    price = report["figures"]["price_per_rpu_hour"]
    assert price == parameters("07")["price_per_rpu_hour"]
    assert figures["rpu_seconds_charged"] >= figures["rpu_seconds_used"] > 0
    assert figures["cost_usd"] == pytest.approx(figures["rpu_seconds_charged"] / 3600 * price, abs=1e-4)


def test_every_chart_is_embedded_with_its_caption(report, page):
    charts = report["charts"]
    assert any(chart["from_this_run"] for chart in charts), "the run wrote no chart"
    assert {chart["file"] for chart in charts} == {p.name for p in config.FIGURES_DIR.rglob("*.png")}
    images = re.findall(r"<img src='data:image/png;base64,([^']+)' alt='([^']*)'>", page)
    assert len(images) == len(charts)
    for (encoded, alt), chart in zip(images, charts):
        assert base64.b64decode(encoded).startswith(run_report.PNG_MAGIC)
        assert html.unescape(alt) == chart["caption"]


def test_no_secret_value_appears_in_any_executed_notebook(report):
    """The runner read the live secrets before the teardown (helpers.secret_scan) and looked for
    them in every executed notebook and its HTML. The API key and the two Redshift passwords (the
    admin's, managed by Redshift, and Firehose's user's) must have been among them: a scan that
    found no secret to look for proves nothing."""
    scan = report["secret_scan"]
    checked = " ".join(scan["checked"])
    assert "API key" in checked and checked.count("secret ") >= 2, f"secrets looked for: {scan['checked']}"
    assert scan["findings"] == []
