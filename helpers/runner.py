"""``make run``: execute every numbered notebook in order with papermill, render HTML, summarise.

Executed copies go to ``build/executed/`` (notebook and HTML), then ``build/report.html`` lists
each notebook's status and duration. The first failure stops the run (later notebooks build on
earlier ones) and is reported with the cell that failed; the exit code is then 1.

    python -m helpers.runner [--only 01 03] [--keep-going] [-p name value ...]
"""

from __future__ import annotations

import argparse
import html
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import papermill
from nbconvert import HTMLExporter

from helpers import config

NOTEBOOKS_DIR = config.REPO_ROOT / "notebooks"
EXECUTED_DIR = config.BUILD_DIR / "executed"
REPORT_PATH = config.BUILD_DIR / "report.html"


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


def execute(path: Path, parameters: dict, output_dir: Path = EXECUTED_DIR) -> Result:
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


def write_report(results: list[Result]) -> Path:
    rows = "\n".join(
        f"<tr class='{r.status}'><td><a href='executed/{Path(r.notebook).with_suffix('.html')}'>"
        f"{html.escape(r.notebook)}</a></td><td>{r.status}</td><td>{r.seconds:.1f} s</td>"
        f"<td>{html.escape(r.failure)}</td></tr>"
        for r in results
    )
    REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
    REPORT_PATH.write_text(
        "<!doctype html><meta charset='utf-8'><title>Workbook run</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;text-align:left}"
        ".passed td:nth-child(2){color:#1a7f37}.failed td:nth-child(2){color:#cf222e}"
        ".skipped td:nth-child(2){color:#888}</style>"
        f"<h1>Workbook run</h1><p>Target: {html.escape(config.settings().target)}; "
        f"finished {time.strftime('%Y-%m-%d %H:%M:%S')}</p>"
        f"<table><tr><th>notebook</th><th>status</th><th>duration</th><th>failure</th></tr>{rows}</table>",
        encoding="utf-8",
    )
    return REPORT_PATH


def run(only: list[str] | None = None, keep_going: bool = False, parameters: dict | None = None) -> list[Result]:
    results: list[Result] = []
    failed = False
    for path in numbered_notebooks(only):
        if failed and not keep_going:
            results.append(Result(path.name, "skipped", failure="an earlier notebook failed"))
            continue
        print(f"running {path.name} ...", flush=True)
        result = execute(path, parameters or {})
        print("  " + result.line().strip(), flush=True)
        failed = failed or result.status == "failed"
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.runner", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", metavar="NN", help="notebook numbers to run, e.g. 00 01")
    parser.add_argument("--keep-going", action="store_true", help="run the rest after a failure")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="papermill parameter for every notebook that declares it")
    args = parser.parse_args(argv)
    results = run(args.only, args.keep_going, dict(args.parameter))
    report = write_report(results)
    print("\nnotebook                                 status   duration")
    for result in results:
        print(result.line())
    print(f"\nexecuted notebooks and HTML: {EXECUTED_DIR}\nreport: {report}")
    failed = [r for r in results if r.status == "failed"]
    if failed:
        print(f"FAILED: {failed[0].notebook} at {failed[0].failure}", file=sys.stderr)
        return 1
    if not results:
        print("no notebooks found", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
