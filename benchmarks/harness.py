"""What several benchmarks share (each benchmark is run as a script, so this is imported by name)."""

from __future__ import annotations


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of the values fall (nearest rank), e.g. 0.99 for p99."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
