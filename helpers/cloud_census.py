"""Everything that exists in the services the workbook uses, whoever created it, tagged or not.

``teardown.find`` lists what is the workbook's (by name and tag). This module answers a blunter
question, "what is left at all?", to check a teardown from the outside: one row per service and
type with the count and the names. AWS's own defaults are left out: the default VPC's security
group, service-linked roles, Glue's shared log groups while empty.

    python -m helpers.cloud_census   # lists what is left; exit code 1 if anything is
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from helpers import aws

Lister = Callable[[], list[str]]
SHARED_LOG_GROUP_PREFIX = "/aws-glue/"


def _pages(service: str, operation: str, key: str, field: str | None = None, **arguments: object) -> list[str]:
    client = aws.client(service)
    items = [item for page in client.get_paginator(operation).paginate(**arguments) for item in page.get(key, [])]
    return [item[field] if field else item for item in items]


def _delivery_streams() -> list[str]:
    return aws.client("firehose").list_delivery_streams(Limit=100)["DeliveryStreamNames"]  # the workbook makes a few


def _budgets() -> list[str]:
    client = aws.client("budgets")
    return [b["BudgetName"] for b in client.describe_budgets(AccountId=aws.account_id()).get("Budgets", [])]


def _security_groups() -> list[str]:
    groups = _pages("ec2", "describe_security_groups", "SecurityGroups")
    return [f"{g['GroupName']} ({g['GroupId']})" for g in groups if g["GroupName"] != "default"]


def _roles() -> list[str]:
    roles = _pages("iam", "list_roles", "Roles")
    return [r["RoleName"] for r in roles if not r.get("Path", "/").startswith("/aws-service-role/")]


def _log_groups() -> list[str]:
    """Log groups; Glue's shared ones (``/aws-glue/...``, created by Glue for every crawler and job of
    the account) only while they hold log streams: empty, they are Glue's, not anyone's resource."""
    logs = aws.client("logs")
    groups = _pages("logs", "describe_log_groups", "logGroups", "logGroupName")
    return [g for g in groups if not g.startswith(SHARED_LOG_GROUP_PREFIX) or logs.describe_log_streams(logGroupName=g, limit=1)["logStreams"]]


def _glue_tables() -> list[str]:
    databases = _pages("glue", "get_databases", "DatabaseList", "Name")
    return [f"{d}.{t}" for d in databases for t in _pages("glue", "get_tables", "TableList", "Name", DatabaseName=d)]


LISTERS: dict[tuple[str, str], Lister] = {
    ("lambda", "event source mappings"): lambda: _pages("lambda", "list_event_source_mappings", "EventSourceMappings", "UUID"),
    ("lambda", "functions"): lambda: _pages("lambda", "list_functions", "Functions", "FunctionName"),
    ("kinesis", "streams"): lambda: _pages("kinesis", "list_streams", "StreamNames"),
    ("firehose", "delivery streams"): _delivery_streams,
    ("apigateway", "REST APIs"): lambda: _pages("apigateway", "get_rest_apis", "items", "name"),
    ("apigateway", "API keys"): lambda: _pages("apigateway", "get_api_keys", "items", "name"),
    ("apigateway", "usage plans"): lambda: _pages("apigateway", "get_usage_plans", "items", "name"),
    ("events", "rules"): lambda: _pages("events", "list_rules", "Rules", "Name"),
    ("scheduler", "schedules"): lambda: _pages("scheduler", "list_schedules", "Schedules", "Name"),
    ("glue", "crawlers"): lambda: _pages("glue", "get_crawlers", "Crawlers", "Name"),
    ("glue", "jobs"): lambda: _pages("glue", "get_jobs", "Jobs", "Name"),
    ("glue", "databases"): lambda: _pages("glue", "get_databases", "DatabaseList", "Name"),
    ("glue", "tables"): _glue_tables,
    ("redshift-serverless", "workgroups"): lambda: _pages("redshift-serverless", "list_workgroups", "workgroups", "workgroupName"),
    ("redshift-serverless", "namespaces"): lambda: _pages("redshift-serverless", "list_namespaces", "namespaces", "namespaceName"),
    ("ec2", "security groups (not default)"): _security_groups,
    ("secretsmanager", "secrets (not pending deletion)"): lambda: _pages("secretsmanager", "list_secrets", "SecretList", "Name"),
    ("sqs", "queues"): lambda: [url.rsplit("/", 1)[1] for url in _pages("sqs", "list_queues", "QueueUrls")],
    ("sns", "topics"): lambda: _pages("sns", "list_topics", "Topics", "TopicArn"),
    ("dynamodb", "tables"): lambda: _pages("dynamodb", "list_tables", "TableNames"),
    ("s3", "buckets"): lambda: [b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]],
    ("iam", "roles"): _roles,
    ("logs", "log groups"): _log_groups,
    ("budgets", "budgets"): _budgets,
}


def census(ignore: dict[tuple[str, str], set[str]] | None = None) -> list[dict[str, object]]:
    """One row per service and type: how many exist, and their names (less those in ``ignore``)."""
    ignore = ignore or {}
    rows = []
    for (service, kind), lister in LISTERS.items():
        names = sorted(set(lister()) - ignore.get((service, kind), set()))
        rows.append({"service": service, "type": kind, "count": len(names), "names": ", ".join(names)})
    return rows


def leftovers(ignore: dict[tuple[str, str], set[str]] | None = None) -> list[dict[str, object]]:
    """The rows of ``census`` that are not empty."""
    return [row for row in census(ignore) if row["count"]]


def main() -> int:
    """Print what is left in the configured target; 1 if anything is."""
    left = leftovers()
    for row in left:
        print(f"{row['service']:<20} {row['type']:<32} {row['count']:>3}  {row['names']}")
    print("nothing is left" if not left else f"{sum(r['count'] for r in left)} resources are left")
    return 1 if left else 0


if __name__ == "__main__":
    from helpers import config

    config.apply_environment()
    sys.exit(main())
