"""SIMILAR TO on the local warehouse matches as Redshift does ("SIMILAR TO", Redshift Developer Guide)."""

from __future__ import annotations

import re

import duckdb
import pytest

from helpers.localcloud.warehouse.similar_to import to_regex


@pytest.mark.parametrize(
    "value, pattern, matches",
    [
        ("ab", "a%", True),  # % any sequence (DuckDB's own SIMILAR TO says false here)
        ("abc", "_b_", True),
        ("abc", "_b", False),  # the whole string must match
        ("a.c", "a.c", True),
        ("abc", "a.c", False),  # . is a literal character
        ("abd", "a(b|c)d", True),
        ("aaa", "a+", True),
        ("85123A", "[0-9]{5}%", True),
        ("POST", "[0-9]{5}%", False),
        ("50%", "50\\%", True),  # the default escape makes % literal
        ("500", "50\\%", False),
        ("$1^", "$1^", True),
    ],
)
def test_patterns_match_as_redshift_documents(value, pattern, matches):
    assert bool(re.fullmatch(to_regex(pattern), value)) is matches
    assert duckdb.sql("select regexp_full_match(?, ?)", params=[value, to_regex(pattern)]).fetchall()[0][0] is matches


def test_a_custom_escape_character():
    assert re.fullmatch(to_regex("100!%", escape="!"), "100%")
    with pytest.raises(ValueError, match="one character"):
        to_regex("a", escape="!!")
