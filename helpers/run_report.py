"""The run report: one dictionary (written as ``report.json``) and one self-contained HTML page
(``report.html``: the charts are embedded as base64 PNG, so the file can be mailed or archived alone).

Pure functions: the runner gathers the notebook results, the figures snapshot and the chart files;
this module only shapes and renders them.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STATUS_COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "skipped": "#888", "ok": "#1f2328",
                  "not created": "#888", "error": "#cf222e"}  # fmt: skip
ACRONYMS = {"s3", "rpu", "rpus", "api", "sql", "dpu", "uk", "usd", "json", "csv", "id"}


@dataclass(frozen=True)
class Chart:
    path: Path
    from_this_run: bool  # written after the run started (else a leftover of an earlier run)

    @property
    def caption(self) -> str:
        return chart_caption(self.path.name)


def chart_caption(file_name: str) -> str:
    """``07_redshift_serverless_usage.png`` -> ``Notebook 07 · Redshift serverless usage``."""
    stem = Path(file_name).stem
    match = re.fullmatch(r"(\d{2})_(.+)", stem)
    number, words = (match.group(1), match.group(2)) if match else (None, stem)
    text = " ".join(w.upper() if w.lower() in ACRONYMS else w for w in re.split(r"[_\-\s]+", words) if w)
    text = text[:1].upper() + text[1:]
    return f"Notebook {number} · {text}" if number else text


def find_charts(figures_dir: Path, run_started: float) -> list[Chart]:
    """Every PNG under ``figures_dir``, by name; ``run_started`` is a ``time.time()``."""
    if not figures_dir.is_dir():
        return []
    paths = sorted(figures_dir.rglob("*.png"), key=lambda p: p.relative_to(figures_dir).as_posix())
    return [Chart(path, path.stat().st_mtime >= run_started) for path in paths]


def report_data(
    *,
    notebooks: list[dict[str, Any]],
    snapshot: dict[str, Any] | None,
    taken_after: str | None,
    charts: list[Chart],
    target: str,
    generated_at: str,
    parameters: dict[str, Any],
    secret_scan: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """What ``report.json`` holds (and ``report.html`` shows). ``secret_scan``: the labels of the
    secrets looked for (``checked``) and what was found (``findings``), never a value."""
    return {
        "generated_at": generated_at,
        "target": target,
        "parameters": parameters,
        "all_passed": bool(notebooks) and all(n["status"] == "passed" for n in notebooks),
        "notebooks": notebooks,
        "figures": None if snapshot is None else {**snapshot, "taken_after": taken_after},
        "charts": [{"file": c.path.name, "caption": c.caption, "from_this_run": c.from_this_run} for c in charts],
        "secret_scan": secret_scan,
    }


def format_value(key: str, value: int | float | None) -> str:
    if value is None:
        return ""
    if key.startswith("cost_"):
        return f"${value:,.4f}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _style(status: str) -> str:
    return f" style='color:{STATUS_COLOURS.get(status, '#1f2328')}'"


def _notebook_rows(notebooks: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"<tr><td><a href='executed/{html.escape(Path(n['notebook']).with_suffix('.html').name)}'>"
        f"{html.escape(n['notebook'])}</a></td><td{_style(n['status'])}>{n['status']}</td>"
        f"<td class='num'>{n['seconds']:.1f} s</td><td>{html.escape(n['failure'])}</td></tr>"
        for n in notebooks
    )


def _figure_rows(figures: dict[str, Any]) -> str:
    rows, group = [], None
    for key, figure in figures["figures"].items():
        if figure["group"] != group:
            group = figure["group"]
            rows.append(f"<tr><th colspan='3' class='group'>{html.escape(group)}</th></tr>")
        shown = format_value(key, figure["value"]) if figure["status"] == "ok" else figure["status"]
        rows.append(
            f"<tr><td>{html.escape(figure['label'])}</td><td class='num'{_style(figure['status'])}>{html.escape(shown)}</td>"
            f"<td class='note'>{html.escape(figure['note'])}</td></tr>"
        )
    return "\n".join(rows)


def _figures_section(figures: dict[str, Any] | None) -> str:
    if figures is None:
        return "<h2>Key figures</h2><p>Not read: no notebook ran.</p>"
    when = f"read at {html.escape(figures['taken_at'])}"
    if figures.get("taken_after"):
        when += f", after {html.escape(figures['taken_after'])}"
    return (
        f"<h2>Key figures</h2><p class='note'>{when}, before any teardown; target {html.escape(figures['target'])} "
        f"({html.escape(figures['region'])}). Rows streamed counts each source row once however often it was "
        "sent or delivered; the other stream figures count copies.</p>"
        f"<table>{_figure_rows(figures)}</table>"
    )


def _charts_section(charts: list[Chart]) -> str:
    if not charts:
        return "<h2>Charts</h2><p>No chart was written.</p>"
    blocks = []
    for chart in charts:
        encoded = base64.b64encode(chart.path.read_bytes()).decode("ascii")
        caption = html.escape(chart.caption) + ("" if chart.from_this_run else " <em>(from an earlier run)</em>")
        blocks.append(
            f"<figure><img src='data:image/png;base64,{encoded}' alt='{html.escape(chart.caption)}'>"
            f"<figcaption>{caption}</figcaption></figure>"
        )
    return "<h2>Charts</h2>" + "\n".join(blocks)


def render_html(data: dict[str, Any], charts: list[Chart]) -> str:
    """``report.html``: notebooks, key figures and charts, with no file besides it needed
    (the links to the executed notebooks work when ``executed/`` is next to it)."""
    notebooks = data["notebooks"]
    passed = sum(n["status"] == "passed" for n in notebooks)
    total_s = sum(n["seconds"] for n in notebooks)
    verdict = f"all {passed} notebooks passed" if data["all_passed"] else f"{passed} of {len(notebooks)} notebooks passed"
    return (
        "<!doctype html><html lang='en'><meta charset='utf-8'><title>Workbook run</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2em auto;max-width:72em;color:#1f2328}"
        "table{border-collapse:collapse;margin-bottom:1.5em}td,th{padding:.3em .8em;text-align:left;"
        "border-bottom:1px solid #eee;vertical-align:top}.num{text-align:right;white-space:nowrap}"
        ".note{color:#59636e;font-size:.9em}th.group{background:#f6f8fa}"
        "figure{margin:1.5em 0}img{max-width:100%;border:1px solid #eee}figcaption{color:#59636e}</style>"
        f"<h1>Workbook run</h1><p>Target {html.escape(data['target'])}; {verdict} in {total_s:,.0f} s; "
        f"report written {html.escape(data['generated_at'])}.</p>"
        "<h2>Notebooks</h2><table><tr><th>notebook</th><th>status</th><th>duration</th><th>failure</th></tr>"
        f"{_notebook_rows(notebooks)}</table>"
        f"{_secret_scan_section(data.get('secret_scan'))}"
        f"{_figures_section(data['figures'])}{_charts_section(charts)}</html>"
    )


def _secret_scan_section(scan: dict[str, list[str]] | None) -> str:
    if scan is None:
        return ""
    checked = ", ".join(html.escape(label) for label in scan["checked"]) or "none could be read"
    if scan["findings"]:
        found = "".join(f"<li>{html.escape(f)}</li>" for f in scan["findings"])
        return f"<h2>Secrets</h2><p style='color:#cf222e'>Secret values appear in executed notebooks:</p><ul>{found}</ul>"
    return f"<h2>Secrets</h2><p>No secret value appears in any executed notebook (looked for: {checked}).</p>"
