"""environment.yml (conda) and requirements.txt (pip) must list the same packages at the same versions."""

from __future__ import annotations

import re

import yaml

from helpers.config import REPO_ROOT


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]+\])?==([^\s;]+)", line)
        assert match, f"not pinned exactly: {line!r}"
        pins[match.group(1).lower().replace("_", "-")] = match.group(3)
    return pins


def test_conda_environment_lists_the_pip_requirements():
    requirements = _pins((REPO_ROOT / "requirements.txt").read_text().splitlines())
    environment = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    assert _pins(pip_section) == requirements


def test_requirements_agree_with_the_constraints():
    requirements = _pins((REPO_ROOT / "requirements.txt").read_text().splitlines())
    constraints = _pins((REPO_ROOT / "constraints.txt").read_text().splitlines())
    for name, version in requirements.items():
        assert constraints.get(name) == version, f"{name}: requirements {version}, constraints {constraints.get(name)}"


def test_the_card_packages_are_there():
    requirements = _pins((REPO_ROOT / "requirements.txt").read_text().splitlines())
    card = {"jupyterlab", "boto3", "pandas", "awswrangler", "matplotlib", "papermill", "nbval", "moto", "duckdb", "sqlglot"}
    assert card <= set(requirements)
