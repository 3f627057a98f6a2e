"""An optional monthly cost budget with an e-mail alert, for learners on AWS.

A cost budget does not stop spending: it e-mails you when the month's actual cost passes a share of
the amount (``threshold_percent``), and when the forecast for the month passes the whole amount.
It watches the account's whole cost, not only the workbook's: filtering by the workbook's tag would
need the tag activated as a cost allocation tag first, and an account used for learning has little
else. AWS Budgets is global (one endpoint for every Region). A budget with notifications and no
actions costs nothing ("AWS Budgets pricing", https://aws.amazon.com/aws-cost-management/aws-budgets/pricing/).
API: https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_CreateBudget.html
"""

from __future__ import annotations

import re
from typing import Any

from helpers import aws, config

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def budget_name() -> str:
    """The workbook's budget, named after its resources (budgets are per account, not per Region)."""
    return f"{config.settings().names.bucket_prefix}-workbook-monthly"


def _client() -> Any:
    return aws.client("budgets")


def describe(name: str) -> dict[str, Any] | None:
    """The budget named ``name``, or None."""
    budgets = _client()
    try:
        return budgets.describe_budget(AccountId=aws.account_id(), BudgetName=name)["Budget"]
    except budgets.exceptions.NotFoundException:
        return None


def _notifications(threshold_percent: float, email: str) -> list[dict[str, Any]]:
    subscribers = [{"SubscriptionType": "EMAIL", "Address": email}]
    return [
        {  # the month's actual cost passed threshold_percent of the amount
            "Notification": {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN",
                             "Threshold": threshold_percent, "ThresholdType": "PERCENTAGE"},
            "Subscribers": subscribers,
        },
        {  # the forecast for the month passed the whole amount: act before it happens
            "Notification": {"NotificationType": "FORECASTED", "ComparisonOperator": "GREATER_THAN",
                             "Threshold": 100.0, "ThresholdType": "PERCENTAGE"},
            "Subscribers": subscribers,
        },
    ]  # fmt: skip


def ensure_budget(amount_usd: float, email: str, threshold_percent: float = 80.0) -> dict[str, Any]:
    """Create the monthly cost budget with its alerts, replacing an existing one; the budget.

    Replacing rather than updating keeps one code path for the amount, the thresholds and the address,
    and loses nothing: a budget keeps no history of its own (its figures come from billing data).
    """
    if not amount_usd or float(amount_usd) <= 0:
        raise ValueError(f"budget amount {amount_usd!r}: give a positive number of US dollars")
    if not EMAIL.match(email or ""):
        raise ValueError(f"{email!r} is not an e-mail address")
    if not 0 < threshold_percent <= 100:
        raise ValueError(f"threshold {threshold_percent}%: give a percentage between 0 and 100")
    name, account = budget_name(), aws.account_id()
    budgets = _client()
    if describe(name) is not None:
        budgets.delete_budget(AccountId=account, BudgetName=name)
    budgets.create_budget(
        AccountId=account,
        Budget={
            "BudgetName": name,
            "BudgetLimit": {"Amount": f"{float(amount_usd):.2f}", "Unit": "USD"},
            "TimeUnit": "MONTHLY",
            "BudgetType": "COST",
        },
        NotificationsWithSubscribers=_notifications(float(threshold_percent), email),
        ResourceTags=aws.tag_list(),
    )
    return describe(name)


def rows(budget: dict[str, Any], email: str) -> list[tuple[str, Any]]:
    """The budget and its alerts (to ``email``), as (setting, value) rows."""
    limit = budget["BudgetLimit"]
    alerts = _client().describe_notifications_for_budget(AccountId=aws.account_id(), BudgetName=budget["BudgetName"])
    return [
        ("name", budget["BudgetName"]),
        ("limit", f"{float(limit['Amount']):,.2f} {limit['Unit']}, {budget['TimeUnit'].lower()}"),
        *(
            (f"alert ({n['NotificationType'].lower()})", f"above {float(n['Threshold']):g}% of the limit: e-mail to {email}")
            for n in alerts["Notifications"]
        ),
    ]


def delete(name: str) -> None:
    """Delete the budget and its notifications; NotFoundException when there is none."""
    _client().delete_budget(AccountId=aws.account_id(), BudgetName=name)
