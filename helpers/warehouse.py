"""The Redshift Serverless warehouse: namespace and workgroup created or reused, and SQL through the Data API.

``ensure_warehouse`` creates the namespace (storage, databases, users; its admin password generated
and kept in Secrets Manager by Redshift itself) and the workgroup (the compute, billed in RPU-seconds
while it works), or reuses them, and waits until both are AVAILABLE. ``run_sql`` runs one statement
with the Redshift Data API (ExecuteStatement, then DescribeStatement until it ends, then
GetStatementResult page by page) and returns the result as a pandas DataFrame.

API references: https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/ and
https://docs.aws.amazon.com/redshift-data/latest/APIReference/.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

import pandas as pd

from helpers import aws, config
from helpers.prerequisites import MissingPrerequisite

ADMIN_USERNAME = "admin"
# The smallest base capacity, and the cheapest while queries run: 8 RPUs at $0.375 per RPU-hour
# (us-east-1) is $3 an hour of activity. The default, 128 RPUs, is 16 times that.
BASE_CAPACITY_RPU = 8
AVAILABLE_WAIT_S = 900  # a new workgroup takes a few minutes on AWS
STATEMENT_TIMEOUT_S = 600
_FINAL = ("FINISHED", "FAILED", "ABORTED")
# GetStatementResult's column types whose values arrive as text and are converted here.
_NUMERIC_TYPES = {"numeric", "decimal"}
_TIME_TYPES = {"timestamp", "timestamptz", "date"}


class WarehouseError(RuntimeError):
    """The namespace or workgroup cannot be used as the workbook needs it."""


class SqlError(RuntimeError):
    """Redshift refused a statement; the message is Redshift's own."""

    def __init__(self, sql: str, status: str, error: str) -> None:
        super().__init__(f"the statement {status}: {error}\n  SQL: {_shorten(sql)}")
        self.sql = sql
        self.status = status
        self.error = error


@dataclass(frozen=True)
class Warehouse:
    """Where the Data API sends statements: a workgroup, a database, and the credentials' secret."""

    namespace: str
    workgroup: str
    database: str
    secret_arn: str  # the admin credentials' secret, managed by Redshift (only its ARN is used here)

    def target(self) -> dict[str, str]:
        """The Data API's target arguments (ExecuteStatement, ListTables, DescribeTable...)."""
        return {"WorkgroupName": self.workgroup, "Database": self.database, "SecretArn": self.secret_arn}


_current: Warehouse | None = None  # set by ensure_warehouse / find_warehouse, used by run_sql


def _tags() -> list[dict[str, str]]:
    """The workbook's tags as Redshift Serverless takes them (lower-case ``key``/``value``)."""
    return [{"key": k, "value": v} for k, v in config.TAGS.items()]


def _shorten(sql: str, limit: int = 300) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------
# Namespace and workgroup


def ensure_namespace(name: str, database: str) -> dict[str, Any]:
    """The namespace, created with a Redshift-managed admin password if missing; its description.

    ``manageAdminPassword``: Redshift generates the admin password and stores it in a Secrets Manager
    secret it owns and rotates (``redshift!<namespace>-admin``); nobody types or sees it. An existing
    namespace whose admin password is not managed is switched to a managed one.
    """
    rs = aws.client("redshift-serverless")
    try:
        namespace = rs.get_namespace(namespaceName=name)["namespace"]
    except rs.exceptions.ResourceNotFoundException:
        namespace = rs.create_namespace(
            namespaceName=name, dbName=database, adminUsername=ADMIN_USERNAME, manageAdminPassword=True, tags=_tags()
        )["namespace"]
    namespace = _wait(lambda: rs.get_namespace(namespaceName=name)["namespace"], f"namespace {name}")
    if not namespace.get("adminPasswordSecretArn"):
        rs.update_namespace(namespaceName=name, manageAdminPassword=True)
        namespace = _wait(lambda: rs.get_namespace(namespaceName=name)["namespace"], f"namespace {name}")
    return namespace


def ensure_workgroup(name: str, namespace: str, base_capacity: int = BASE_CAPACITY_RPU) -> dict[str, Any]:
    """The workgroup of ``namespace`` at ``base_capacity`` RPUs, created or updated; its description once AVAILABLE."""
    rs = aws.client("redshift-serverless")
    try:
        workgroup = rs.get_workgroup(workgroupName=name)["workgroup"]
    except rs.exceptions.ResourceNotFoundException:
        workgroup = rs.create_workgroup(
            workgroupName=name,
            namespaceName=namespace,
            baseCapacity=base_capacity,
            publiclyAccessible=False,  # reached through the Data API, which needs no network path
            tags=_tags(),
        )["workgroup"]
    if workgroup["namespaceName"] != namespace:
        raise WarehouseError(f"workgroup {name} belongs to namespace {workgroup['namespaceName']}, not {namespace}")
    workgroup = _wait(lambda: rs.get_workgroup(workgroupName=name)["workgroup"], f"workgroup {name}")
    if workgroup["baseCapacity"] != base_capacity:
        workgroup = ensure_workgroup_setting(name, baseCapacity=base_capacity)
    return workgroup


def ensure_workgroup_setting(name: str, **setting: Any) -> dict[str, Any]:
    """UpdateWorkgroup with one setting (AWS refuses several in one call); the description once AVAILABLE."""
    if len(setting) != 1:
        raise ValueError("UpdateWorkgroup changes one setting at a time")
    rs = aws.client("redshift-serverless")
    rs.update_workgroup(workgroupName=name, **setting)
    return _wait(lambda: rs.get_workgroup(workgroupName=name)["workgroup"], f"workgroup {name}")


def _wait(describe, what: str, timeout_s: float = AVAILABLE_WAIT_S) -> dict[str, Any]:
    """Describe until the status is AVAILABLE (CREATING and MODIFYING pass; anything else is an error)."""
    deadline = time.monotonic() + timeout_s
    pause = 0.5  # seconds locally, minutes on AWS: poll often at first, then every 10 s
    while True:
        resource = describe()
        status = resource["status"]
        if status == "AVAILABLE":
            return resource
        if status not in ("CREATING", "MODIFYING"):
            raise WarehouseError(f"{what} is {status}")
        if time.monotonic() > deadline:
            raise WarehouseError(f"{what} is still {status} after {timeout_s:.0f} s")
        time.sleep(pause)
        pause = min(pause * 2, 10.0)


def ensure_warehouse(base_capacity: int = BASE_CAPACITY_RPU) -> Warehouse:
    """The workbook's namespace and workgroup (``config.Names``), created or reused, both AVAILABLE;
    ``run_sql`` uses it from then on."""
    global _current
    names = config.settings().names
    namespace = ensure_namespace(names.redshift_namespace, names.redshift_database)
    ensure_workgroup(names.redshift_workgroup, names.redshift_namespace, base_capacity)
    _current = Warehouse(
        namespace=names.redshift_namespace,
        workgroup=names.redshift_workgroup,
        database=names.redshift_database,
        secret_arn=namespace["adminPasswordSecretArn"],
    )
    return _current


def find_warehouse() -> Warehouse:
    """The warehouse notebook 06 created, as it is; ``run_sql`` uses it from then on."""
    global _current
    names = config.settings().names
    rs = aws.client("redshift-serverless")
    try:
        namespace = rs.get_namespace(namespaceName=names.redshift_namespace)["namespace"]
        workgroup = rs.get_workgroup(workgroupName=names.redshift_workgroup)["workgroup"]
    except rs.exceptions.ResourceNotFoundException:
        raise MissingPrerequisite("the Redshift Serverless warehouse does not exist: run notebook 06 first") from None
    if workgroup["status"] != "AVAILABLE" or not namespace.get("adminPasswordSecretArn"):
        raise MissingPrerequisite(f"workgroup {workgroup['workgroupName']} is {workgroup['status']}: run notebook 06 again")
    _current = Warehouse(names.redshift_namespace, names.redshift_workgroup, names.redshift_database, namespace["adminPasswordSecretArn"])
    return _current


def current() -> Warehouse:
    """The warehouse found or created last in this process (looked up on first use)."""
    return _current or find_warehouse()


def describe_rows(warehouse: Warehouse) -> list[tuple[str, Any]]:
    """What the warehouse is, for a table (the secret appears by name, never its value)."""
    rs = aws.client("redshift-serverless")
    namespace = rs.get_namespace(namespaceName=warehouse.namespace)["namespace"]
    workgroup = rs.get_workgroup(workgroupName=warehouse.workgroup)["workgroup"]
    endpoint = workgroup["endpoint"]
    return [
        ("namespace", f"{namespace['namespaceName']} ({namespace['status']})"),
        ("database", namespace["dbName"]),
        ("admin user", namespace["adminUsername"]),
        ("admin password secret", namespace["adminPasswordSecretArn"].split(":secret:")[1]),
        ("workgroup", f"{workgroup['workgroupName']} ({workgroup['status']})"),
        ("base capacity", f"{workgroup['baseCapacity']} RPUs"),
        ("max capacity", f"{workgroup['maxCapacity']} RPUs" if workgroup.get("maxCapacity") else "not set"),
        ("endpoint (JDBC)", f"{endpoint['address']}:{endpoint['port']}/{namespace['dbName']}"),
        ("publicly accessible", workgroup["publiclyAccessible"]),
    ]


# ---------------------------------------------------------------------------------------------
# SQL through the Data API


def submit(sql: str, parameters: Mapping[str, Any] | None = None, *, warehouse: Warehouse | None = None) -> str:
    """ExecuteStatement: the statement's Id. ``parameters`` fill ``:name`` placeholders (sent as text,
    typed by Redshift from their use)."""
    arguments: dict[str, Any] = {**(warehouse or current()).target(), "Sql": sql}
    if parameters:
        arguments["Parameters"] = [{"name": k, "value": str(v)} for k, v in parameters.items()]
    return aws.client("redshift-data").execute_statement(**arguments)["Id"]


def wait(statement_id: str, sql: str, timeout_s: float = STATEMENT_TIMEOUT_S) -> dict[str, Any]:
    """DescribeStatement until the statement ends; its description. FAILED or ABORTED raise SqlError."""
    data = aws.client("redshift-data")
    deadline = time.monotonic() + timeout_s
    pause = 0.05  # short statements end in milliseconds; long ones are polled less often
    while True:
        description = data.describe_statement(Id=statement_id)
        if description["Status"] in _FINAL:
            break
        if time.monotonic() > deadline:
            data.cancel_statement(Id=statement_id)
            raise SqlError(sql, "TIMED OUT", f"still {description['Status']} after {timeout_s:.0f} s; cancelled")
        time.sleep(pause)
        pause = min(pause * 2, 2.0)
    if description["Status"] != "FINISHED":
        raise SqlError(sql, description["Status"], description.get("Error") or "(no message)")
    return description


def run_sql(sql: str, parameters: Mapping[str, Any] | None = None, *, warehouse: Warehouse | None = None) -> pd.DataFrame:
    """Run one statement and return its rows (an empty DataFrame for a statement without a result set).

    ``frame.attrs`` holds the statement's Id, its ResultRows (rows returned, or inserted/updated/
    deleted) and its duration in seconds.
    """
    statement_id = submit(sql, parameters, warehouse=warehouse)
    description = wait(statement_id, sql)
    frame = fetch_result(statement_id) if description.get("HasResultSet") else pd.DataFrame()
    frame.attrs.update(
        statement_id=statement_id, result_rows=description.get("ResultRows", -1), seconds=description["Duration"] / 1e9
    )
    return frame


def fetch_result(statement_id: str) -> pd.DataFrame:
    """Every page of GetStatementResult as a typed DataFrame."""
    data = aws.client("redshift-data")
    columns: list[dict[str, Any]] = []
    rows: list[list[Any]] = []
    arguments: dict[str, Any] = {"Id": statement_id}
    while True:
        page = data.get_statement_result(**arguments)
        columns = columns or page["ColumnMetadata"]
        rows.extend([_field_value(field) for field in record] for record in page["Records"])
        if not page.get("NextToken"):
            break
        arguments["NextToken"] = page["NextToken"]
    frame = pd.DataFrame(rows, columns=[c["name"] for c in columns])
    for column in columns:
        frame[column["name"]] = _typed(frame[column["name"]], column["typeName"])
    return frame


def _field_value(field: Mapping[str, Any]) -> Any:
    """A GetStatementResult field: exactly one of isNull, booleanValue, longValue, doubleValue, stringValue, blobValue."""
    if field.get("isNull"):
        return None
    ((_, value),) = field.items()
    return value


def _typed(values: pd.Series, type_name: str) -> pd.Series:
    """Values the Data API sends as text, converted: NUMERIC to float (pandas has no decimal
    type; cast to VARCHAR in SQL for the exact digits), dates and timestamps to datetime64."""
    if type_name in _NUMERIC_TYPES:
        return values.map(lambda v: None if v is None else float(Decimal(v))).astype("float64")
    if type_name in _TIME_TYPES:
        return pd.to_datetime(values)
    return values


def wait_for_count(sql: str, target: int, timeout_s: float = 600, every_s: float = 10, out=print) -> int:
    """Run ``sql`` (one number, e.g. a count(*)) every ``every_s`` seconds until it reaches ``target``;
    the last value. Prints progress; raises TimeoutError, saying how far it got, after ``timeout_s``.

    Each poll is a query: on AWS it keeps the workgroup active (billed) while it waits.
    """
    started = time.monotonic()
    while True:
        value = int(run_sql(sql).iat[0, 0])
        elapsed = time.monotonic() - started
        out(f"{elapsed:5.0f} s: {value:,} of {target:,}")
        if value >= target:
            return value
        if elapsed + every_s > timeout_s:
            raise TimeoutError(f"{value:,} of {target:,} after {elapsed:.0f} s: {_shorten(sql)}")
        time.sleep(every_s)
