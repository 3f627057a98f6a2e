"""budgets.ensure_budget refuses what AWS Budgets would, before calling it."""

from __future__ import annotations

import pytest

from helpers import budgets


@pytest.mark.parametrize("amount", [0, -5, None])
def test_the_amount_must_be_positive(amount):
    with pytest.raises(ValueError, match="positive number of US dollars"):
        budgets.ensure_budget(amount, "learner@example.com")


@pytest.mark.parametrize("email", ["", "learner", "learner@example", "two words@example.com"])
def test_the_alerts_need_an_email_address(email):
    with pytest.raises(ValueError, match="not an e-mail address"):
        budgets.ensure_budget(10, email)


@pytest.mark.parametrize("threshold", [0, 101])
def test_the_threshold_is_a_percentage(threshold):
    with pytest.raises(ValueError, match="percentage"):
        budgets.ensure_budget(10, "learner@example.com", threshold_percent=threshold)
