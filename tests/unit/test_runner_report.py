"""The run report's pure parts: captions, report.json's shape, the HTML page, fail-soft figures."""

from __future__ import annotations

import base64
import os
import re
import time

import pytest
from botocore.exceptions import ClientError
from matplotlib.figure import Figure as PlotFigure

from helpers import run_figures, run_report, runner


def _png(path, title="chart"):
    figure = PlotFigure(figsize=(2, 1))
    figure.subplots().set_title(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def _snapshot(*figures: run_figures.Figure) -> dict:
    return run_figures.Snapshot("2026-11-22T06:00:00+00:00", "local", "us-east-1", 0.375, list(figures)).as_dict()


def _notebooks(*statuses: str) -> list[dict]:
    return [{"notebook": f"0{i}_n.ipynb", "status": s, "seconds": 1.5 * i, "failure": ""} for i, s in enumerate(statuses)]


def _data(notebooks, snapshot=None, charts=(), taken_after="05_n.ipynb"):
    return run_report.report_data(
        notebooks=notebooks, snapshot=snapshot, taken_after=taken_after, charts=list(charts),
        target="local", generated_at="2026-11-22T06:01:00+00:00", parameters={"rows": 100},
    )


@pytest.mark.parametrize(
    ("file_name", "caption"),
    [
        ("07_redshift_serverless_usage.png", "Notebook 07 · Redshift serverless usage"),
        ("01_revenue_by_country_without_united_kingdom.png", "Notebook 01 · Revenue by country without united kingdom"),
        ("11_rpu_seconds_per_s3_load.png", "Notebook 11 · RPU seconds per S3 load"),
        ("overview.png", "Overview"),
    ],
)
def test_a_caption_comes_from_the_file_name(file_name, caption):
    assert run_report.chart_caption(file_name) == caption


def test_charts_are_every_png_by_name_and_say_whether_this_run_wrote_them(tmp_path):
    old = _png(tmp_path / "07_b.png")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    started = time.time() - 60
    _png(tmp_path / "01_a.png")
    _png(tmp_path / "10" / "10_c.png")
    (tmp_path / "notes.txt").write_text("not a chart")
    charts = run_report.find_charts(tmp_path, started)
    assert [(c.path.name, c.from_this_run) for c in charts] == [("01_a.png", True), ("07_b.png", False), ("10_c.png", True)]
    assert run_report.find_charts(tmp_path / "missing", started) == []


def test_report_json_has_the_notebooks_figures_and_charts(tmp_path):
    chart = run_report.Chart(_png(tmp_path / "07_usage.png"), from_this_run=True)
    snapshot = _snapshot(run_figures.Figure("rows_streamed", "Stream", "Rows streamed", 1501, "ok", "distinct EventIds"))
    data = _data(_notebooks("passed", "passed"), snapshot, [chart])
    assert data["all_passed"] is True
    assert data["figures"]["taken_after"] == "05_n.ipynb"
    assert data["figures"]["figures"]["rows_streamed"] == {
        "key": "rows_streamed", "group": "Stream", "label": "Rows streamed", "value": 1501, "status": "ok", "note": "distinct EventIds",
    }
    assert data["charts"] == [{"file": "07_usage.png", "caption": "Notebook 07 · Usage", "from_this_run": True}]
    assert data["parameters"] == {"rows": 100}


@pytest.mark.parametrize(("notebooks", "passed"), [([], False), (_notebooks("passed", "failed"), False), (_notebooks("passed", "skipped"), False)])
def test_the_run_passed_only_if_every_notebook_passed(notebooks, passed):
    assert _data(notebooks)["all_passed"] is passed


def test_the_html_shows_notebooks_figures_and_embeds_each_chart(tmp_path):
    png = _png(tmp_path / "07_usage.png")
    stale = _png(tmp_path / "01_old.png")
    charts = [run_report.Chart(stale, from_this_run=False), run_report.Chart(png, from_this_run=True)]
    snapshot = _snapshot(
        run_figures.Figure("rows_streamed", "Stream", "Rows streamed", 12345, "ok", "distinct EventIds"),
        run_figures.Figure("s3_raw_objects", "S3", "Objects <raw>", None, "not created", "NoSuchBucket: gone"),
        run_figures.Figure("cost_usd", "Cost", "Compute cost", 0.1, "ok", ""),
    )
    notebooks = _notebooks("passed", "failed", "skipped")
    notebooks[1]["failure"] = "In [3] (cell 4): KeyError: '<x>'"
    page = run_report.render_html(_data(notebooks, snapshot, charts), charts)

    assert "1 of 3 notebooks passed" in page
    assert "href='executed/01_n.html'" in page and "KeyError: &#x27;&lt;x&gt;&#x27;" in page
    assert ">12,345<" in page and ">$0.1000<" in page
    assert "Objects &lt;raw&gt;" in page and ">not created<" in page and "NoSuchBucket: gone" in page
    assert "after 05_n.ipynb" in page
    images = re.findall(r"<img src='data:image/png;base64,([^']+)'", page)
    assert [base64.b64decode(i) for i in images] == [stale.read_bytes(), png.read_bytes()]
    assert "Notebook 01 · Old <em>(from an earlier run)</em>" in page and "Notebook 07 · Usage</figcaption>" in page
    assert "<link" not in page and "<script" not in page  # one self-contained file


def test_without_figures_or_charts_the_html_says_so():
    page = run_report.render_html(_data([], None, taken_after=None), [])
    assert "Not read: no notebook ran." in page and "No chart was written." in page


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [("rows_streamed", 1501, "1,501"), ("rpu_seconds_charged", 960.0, "960"), ("rpu_seconds_used", 10.25, "10.2"),
     ("cost_usd", 0.1, "$0.1000"), ("cost_usd", None, "")],
)
def test_values_are_formatted_for_reading(key, value, shown):
    assert run_report.format_value(key, value) == shown


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "it is not there"}}, "ListObjectsV2")


@pytest.mark.parametrize(
    ("error", "status", "note"),
    [
        (_client_error("NoSuchBucket"), "not created", "NoSuchBucket: it is not there"),
        (_client_error("ResourceNotFoundException"), "not created", "ResourceNotFoundException: it is not there"),
        (run_figures.NotCreated("no table public.t"), "not created", "no table public.t"),
        (_client_error("AccessDenied"), "error", "ClientError: An error occurred (AccessDenied)"),
        (ConnectionError("refused"), "error", "ConnectionError: refused"),
    ],
)
def test_a_figure_that_cannot_be_read_says_why_and_the_others_still_are(error, status, note, caplog):
    figures: list[run_figures.Figure] = []

    def fail():
        raise error

    run_figures._read(figures, "S3", {"a": "A", "b": "B"}, fail)
    run_figures._read(figures, "S3", {"c": "C"}, lambda: {"c": (3, "counted")})
    assert [(f.key, f.status, f.value) for f in figures] == [("a", status, None), ("b", status, None), ("c", "ok", 3)]
    assert figures[0].note.startswith(note) and figures[2].note == "counted"
    assert f"a, b: {status}" in caplog.text  # logged, not only shown


@pytest.mark.parametrize(("text", "value"), [("True", True), ("False", False), ("500", 500), ("0.375", 0.375), ("None", None), ("local", "local"), ("cron(0 2 * * ? *)", "cron(0 2 * * ? *)")])
def test_a_parameter_value_is_read_as_python_reads_it(text, value):
    assert runner.parameter_value(text) == value
