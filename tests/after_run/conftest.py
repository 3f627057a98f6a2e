"""Checks of a finished run's report: collected only when named, e.g.

    python -m helpers.runner && python -m pytest -q tests/after_run

A plain ``pytest tests`` skips this folder: before a run there is no report to check (and a stale
one would be checked against nothing).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def _named(config) -> bool:
    """Whether a command-line argument is this folder or a path inside it."""
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    if collection_path.suffix == ".py" and collection_path.parent == HERE and not _named(config):
        return True
    return None
