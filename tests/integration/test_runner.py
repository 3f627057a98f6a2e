"""`make run`'s runner: a failing notebook is reported with its cell, and its HTML is still written."""

from __future__ import annotations

import json

import nbformat

from helpers import aws, config, runner
from tests.conftest import own_names


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


def test_the_report_holds_the_figures_read_before_teardown_and_the_charts(local_cloud, tmp_path):
    """A run of two probe notebooks: 00 writes a chart, 99 deletes the bucket. The figures must be
    what the local cloud held before 99 ran; what was never created says so."""
    with own_names(
        local_cloud, bucket_prefix="runner-probe", stream="runner-probe-stream", invoice_table="runner-probe-invoice",
        customer_table="runner-probe-customer", redshift_namespace="runner-probe", redshift_workgroup="runner-probe",
    ) as (names, patch):
        bucket = aws.bucket()
        _pipeline_leftovers(names, bucket)
        notebooks, build = tmp_path / "notebooks", tmp_path / "build"
        notebooks.mkdir()
        _notebook(notebooks / "00_probe.ipynb", "figures_dir = ''", CHART_CELL)
        _notebook(notebooks / "99_probe.ipynb", "bucket = ''", TEARDOWN_CELL)
        for name, value in {"NOTEBOOKS_DIR": notebooks, "EXECUTED_DIR": build / "executed",
                            "REPORT_PATH": build / "report.html", "REPORT_JSON_PATH": build / "report.json"}.items():
            patch.setattr(runner, name, value)
        patch.setattr(config, "FIGURES_DIR", build / "figures")

        outcome = runner.run(parameters={"figures_dir": str(build / "figures"), "bucket": bucket})
        runner.write_report(outcome)

        assert [(r.notebook, r.status) for r in outcome.results] == [("00_probe.ipynb", "passed"), ("99_probe.ipynb", "passed")]
        assert bucket not in {b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]}  # 99 did delete it
        report = json.loads((build / "report.json").read_text())
        figures = {key: (f["status"], f["value"]) for key, f in report["figures"]["figures"].items()}
        assert report["figures"]["taken_after"] == "00_probe.ipynb"
        assert figures["rows_streamed"] == ("ok", 2) and figures["raw_lines"] == ("ok", 3)
        assert figures["s3_raw_objects"] == ("ok", 2) and figures["s3_firehose_objects"] == ("ok", 1)
        assert figures["kinesis_records"] == ("ok", 4)
        assert figures[f"dynamodb_{names.invoice_table}_items"] == ("ok", 2)
        assert figures[f"dynamodb_{names.customer_table}_items"] == ("not created", None)
        for key in (f"redshift_rows_{names.redshift_table}", "rpu_seconds_charged", "cost_usd"):
            assert figures[key] == ("not created", None), key
        assert report["charts"] == [{"file": "00_probe_chart.png", "caption": "Notebook 00 · Probe chart", "from_this_run": True}]
        page = (build / "report.html").read_text()
        assert page.count("<img src='data:image/png;base64,") == 1 and "Notebook 00 · Probe chart" in page


CHART_CELL = """
from pathlib import Path
from matplotlib.figure import Figure
Path(figures_dir).mkdir(parents=True, exist_ok=True)
Figure().savefig(Path(figures_dir) / "00_probe_chart.png")
"""
TEARDOWN_CELL = """
import boto3
s3 = boto3.client("s3")
for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
    s3.delete_object(Bucket=bucket, Key=item["Key"])
s3.delete_bucket(Bucket=bucket)
"""


def _pipeline_leftovers(names, bucket: str) -> None:
    """What a stream run leaves: two raw objects (3 lines, 2 events), one Firehose object and its
    manifest, 4 records on the stream, 2 invoices; no customer table, no warehouse."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    lines = [json.dumps({"EventId": f"probe.csv:{n}"}) for n in (1, 2, 2)]
    s3.put_object(Bucket=bucket, Key=f"{names.raw_prefix}a.json", Body="\n".join(lines[:2]) + "\n")
    s3.put_object(Bucket=bucket, Key=f"{names.raw_prefix}b.json", Body=lines[2] + "\n")
    s3.put_object(Bucket=bucket, Key=f"{names.firehose_prefix}2026/11/22/data", Body=b"x")
    s3.put_object(Bucket=bucket, Key=f"{names.firehose_prefix}manifests/2026/11/22/m", Body=b"{}")
    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName=names.stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=names.stream)
    kinesis.put_records(StreamName=names.stream, Records=[{"Data": b"{}", "PartitionKey": str(n)} for n in range(4)])
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(
        TableName=names.invoice_table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "InvoiceNo", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "InvoiceNo", "AttributeType": "S"}],
    )
    for invoice in ("536365", "536366"):
        dynamodb.put_item(TableName=names.invoice_table, Item={"InvoiceNo": {"S": invoice}})
