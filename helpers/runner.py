"""``make run``: execute every numbered notebook in order, then report and scan for secrets.

Executed copies go to ``build/executed/`` (notebook and HTML). ``build/report.html`` (self-contained)
and ``build/report.json`` then give each notebook's status and duration, the key figures of the run
(``helpers.run_figures``) and every chart under ``build/figures``. The figures are read before the
teardown notebook (99 and above) runs, since it deletes what they count; without it, at the end.
The workbook's secret values are read then too (``helpers.secret_scan``), and every executed
notebook is searched for them; a secret found makes the exit code 1.
The first failure stops the run (later notebooks build on earlier ones) and is reported with the
cell that failed; the exit code is then 1.

    python -m helpers.runner [--only 01 03] [--keep-going] [-p name value ...]
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import papermill
from nbconvert import HTMLExporter

from helpers import config, run_figures, run_report, secret_scan, warehouse_costs

NOTEBOOKS_DIR = config.REPO_ROOT / "notebooks"
EXECUTED_DIR = config.BUILD_DIR / "executed"
REPORT_PATH = config.BUILD_DIR / "report.html"
REPORT_JSON_PATH = config.BUILD_DIR / "report.json"
TEARDOWN_FROM = 99  # notebooks numbered from here on delete what the figures count


@dataclass
class Result:
    notebook: str
    status: str  # passed, failed, skipped
    seconds: float = 0.0
    failure: str = ""

    def line(self) -> str:
        tail = f"  {self.failure}" if self.failure else ""
        return f"{self.notebook:<40} {self.status:<8} {self.seconds:>7.1f} s{tail}"


def numbered_notebooks(only: list[str] | None = None) -> list[Path]:
    paths = sorted(p for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [p for p in paths if p.name[:2] in only]
    return paths


def execute(path: Path, parameters: dict, output_dir: Path | None = None) -> Result:
    output_dir = output_dir or EXECUTED_DIR
    output_dir.mkdir(parents=True, exist_ok=True)
    output = output_dir / path.name
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(path), str(output), parameters=parameters, cwd=str(path.parent),
            kernel_name="python3", progress_bar=False, log_output=False,
        )
        status, failure = "passed", ""
    except papermill.PapermillExecutionError as error:
        status = "failed"
        # In [n] is what the learner sees in the executed notebook (papermill adds a parameters cell).
        failure = f"In [{error.exec_count}] (cell {error.cell_index + 1}): {error.ename}: {error.evalue}"
    seconds = time.perf_counter() - started
    if output.exists():
        render_html(output)
    return Result(path.name, status, seconds, failure)


def render_html(executed: Path) -> Path:
    body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    target = executed.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


@dataclass
class Run:
    results: list[Result] = field(default_factory=list)
    figures: run_figures.Snapshot | None = None
    figures_after: str | None = None  # the last notebook that ran before the figures were read
    secrets: dict[str, str] = field(default_factory=dict, repr=False)  # label -> value, in memory only
    started: float = field(default_factory=time.time)


def is_teardown(path: Path) -> bool:
    return int(path.name[:2]) >= TEARDOWN_FROM


def read_figures(run: Run, parameters: dict) -> None:
    """Read the key figures (``helpers.run_figures``), once: after the last notebook that ran."""
    if run.figures is not None:
        return
    ran = [r.notebook for r in run.results if r.status != "skipped"]
    print("reading the run's key figures ...", flush=True)
    price = float(parameters.get("price_per_rpu_hour", warehouse_costs.PRICE_PER_RPU_HOUR))
    run.figures, run.figures_after = run_figures.snapshot(price), (ran[-1] if ran else None)
    run.secrets = secret_scan.collect()  # before the teardown deletes them


def scan_for_secrets(run: Run) -> dict[str, list[str]]:
    """Look for the secrets' values in this run's executed notebooks and their HTML."""
    paths = [EXECUTED_DIR / Path(r.notebook).with_suffix(suffix) for r in run.results for suffix in (".ipynb", ".html")]
    findings = secret_scan.scan([p for p in paths if p.exists()], run.secrets)
    return {"checked": sorted(run.secrets), "findings": [str(f) for f in findings]}


def write_report(run: Run, parameters: dict | None = None, secrets_found: dict[str, list[str]] | None = None) -> Path:
    """``report.json`` and the self-contained ``report.html``; the HTML's path."""
    charts = run_report.find_charts(config.FIGURES_DIR, run.started)
    data = run_report.report_data(
        notebooks=[asdict(r) for r in run.results],
        snapshot=run.figures.as_dict() if run.figures else None,
        taken_after=run.figures_after,
        charts=charts,
        target=config.settings().target,
        generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        parameters=parameters or {},
        secret_scan=secrets_found,
    )
    REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
    REPORT_JSON_PATH.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    REPORT_PATH.write_text(run_report.render_html(data, charts), encoding="utf-8")
    return REPORT_PATH


def run(only: list[str] | None = None, keep_going: bool = False, parameters: dict | None = None) -> Run:
    outcome = Run()
    failed = False
    for path in numbered_notebooks(only):
        if failed and not keep_going:
            outcome.results.append(Result(path.name, "skipped", failure="an earlier notebook failed"))
            continue
        if is_teardown(path):  # it deletes what the figures count
            read_figures(outcome, parameters or {})
        print(f"running {path.name} ...", flush=True)
        result = execute(path, parameters or {})
        print("  " + result.line().strip(), flush=True)
        failed = failed or result.status == "failed"
        outcome.results.append(result)
    if any(r.status != "skipped" for r in outcome.results):
        read_figures(outcome, parameters or {})
    return outcome


def parameter_value(text: str) -> object:
    """A ``-p`` value as Python reads it (``True``, ``500``, ``0.375``, ``None``), else the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.runner", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", metavar="NN", help="notebook numbers to run, e.g. 00 01")
    parser.add_argument("--keep-going", action="store_true", help="run the rest after a failure")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="papermill parameter for every notebook that declares it")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parameters = {name: parameter_value(value) for name, value in args.parameter}
    outcome = run(args.only, args.keep_going, parameters)
    secrets_found = scan_for_secrets(outcome)
    report = write_report(outcome, parameters, secrets_found)
    results = outcome.results
    print("\nnotebook                                 status   duration")
    for result in results:
        print(result.line())
    if outcome.figures:
        print(f"\nkey figures (read after {outcome.figures_after}):")
        for figure in outcome.figures.figures:
            shown = run_report.format_value(figure.key, figure.value) if figure.status == "ok" else f"{figure.status}: {figure.note}"
            print(f"  {figure.label:<70} {shown}")
    print(f"\nexecuted notebooks and HTML: {EXECUTED_DIR}\nreport: {report} and {REPORT_JSON_PATH.name}")
    for finding in secrets_found["findings"]:
        print(f"SECRET EXPOSED: {finding}", file=sys.stderr)
    failed = [r for r in results if r.status == "failed"]
    if failed:
        print(f"FAILED: {failed[0].notebook} at {failed[0].failure}", file=sys.stderr)
    if not results:
        print("no notebooks found", file=sys.stderr)
    return 1 if failed or not results or secrets_found["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
