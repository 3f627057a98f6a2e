"""Firehose's COPY into Amazon Redshift, run on the local warehouse as the destination's user.

For each batch of intermediate S3 objects Firehose writes a manifest and issues, over a JDBC
connection made with the destination's Username and Password (or the secret of its
SecretsManagerConfiguration), ``COPY <table> [(<columns>)] FROM 's3://<bucket>/<manifest>'
CREDENTIALS 'aws_iam_role=<role>' MANIFEST <CopyOptions>`` ("Understand data delivery",
basic-deliver.html). Here the connection is a warehouse session: the JDBC URL's host names a
Redshift Serverless workgroup (``<workgroup>.<account>.<region>.redshift-serverless.amazonaws.com``)
or a provisioned cluster moto serves (``<cluster>.<id>.<region>.redshift.amazonaws.com``), its
path the database. The statement runs on the warehouse's worker like any other, so it appears in
SYS_QUERY_HISTORY under the destination's user, and its load errors in SYS_LOAD_ERROR_DETAIL.

Logging in: the user must exist in the warehouse (create it first, as the Firehose documentation
recommends a dedicated user), and the admin user's password must be the namespace's (or cluster's)
admin password. The local warehouse does not store the passwords of other users, so theirs are
not checked. Failures carry Firehose's error codes ("Amazon Redshift data delivery errors",
https://docs.aws.amazon.com/firehose/latest/dev/monitoring-with-cloudwatch-logs.html).
"""

from __future__ import annotations

import json
from typing import Any

from helpers.localcloud.plane import Context
from helpers.localcloud.firehose.config import RedshiftSettings
from helpers.localcloud.warehouse import serverless, statements, targets
from helpers.localcloud.warehouse.registry import namespace_key, registry_for
from helpers.localcloud.warehouse.statements import Statement, SubStatement

COPY_TIMEOUT_SECONDS = 900
# (error code, message) as the Firehose documentation lists them, by what the warehouse said.
_ERRORS: list[tuple[tuple[str, ...], str, str]] = [
    (("password authentication failed",), "Redshift.AuthenticationFailed",
     "The provided user name and password failed authentication. Provide a valid user name and password."),
    (("FATAL: database",), "Redshift.DatabaseNotFound",
     "The database specified in the Amazon Redshift destination configuration or JDBC URL was not found. Specify a valid database name."),
    (("column \"",), "Redshift.ColumnNotFound", "A column in the COPY command does not exist in the table. Specify a valid column name."),
    (("relation \"",), "Redshift.TableNotFound", "The table to which to load data was not found. Ensure that the specified table exists."),
    (("Number of jsonpaths",), "Redshift.ColumnMismatch",
     "The number of jsonpaths in the COPY command and the number of columns in the destination table should match. Retry the command."),
    (("JSONPath", "JSONPaths"), "Redshift.IncorrectJsonPathsFile", "The provided jsonpaths file is not in a supported JSON format. Retry the command."),
    (("PermanentRedirect",), "Redshift.IncorrectOrMissingRegion",
     "Amazon Redshift attempted to use the wrong region endpoint for accessing the S3 bucket. Either specify a correct region "
     "value in the COPY command options or ensure that the S3 bucket is in the same region as the Amazon Redshift database."),
    (("NoSuchKey", "NoSuchBucket"), "Redshift.MissingS3File",
     "One or more S3 files required by Amazon Redshift have been removed from the S3 bucket. Check the S3 bucket policies to "
     "remove any automatic deletion of S3 files."),
    (("conflicting or redundant", "cannot be used with", "not supported for JSON", "not a valid option"), "Redshift.IncorrectCopyOptions",
     "Conflicting or redundant COPY options were provided. Some options are not compatible in certain combinations. "
     "Check the COPY command reference for more info."),
    (("syntax error",), "Redshift.SyntaxError", "The COPY command contains a syntax error. Retry the command."),
    (("Load into table",), "Redshift.DataLoadFailed", "Loading data into the table failed. Check STL_LOAD_ERRORS system table for details."),
]
CONNECTION_FAILED = (
    "Redshift.ConnectionFailed",
    "The connection to the specified Amazon Redshift cluster failed. Ensure that security settings allow Firehose connections, "
    "that the cluster or database specified in the Amazon Redshift destination configuration or JDBC URL is correct, and that "
    "the cluster is available.",
)


class DeliveryError(Exception):
    """A failed delivery: Firehose's error code and message, and what the destination said."""

    def __init__(self, code: str, message: str, detail: str = "") -> None:
        super().__init__(f"{code}: {message}" + (f" ({detail})" if detail else ""))
        self.code = code
        self.message = message
        self.detail = detail


def classify(sql_error: str) -> DeliveryError:
    for needles, code, message in _ERRORS:
        if any(needle in sql_error for needle in needles):
            return DeliveryError(code, message, sql_error)
    return DeliveryError("Redshift.DataLoadFailed", "Loading data into the table failed.", sql_error)


def copy_statement(settings: RedshiftSettings, bucket: str, manifest_key: str) -> str:
    columns = f" ({settings.columns})" if settings.columns else ""
    options = f" {settings.copy_options}" if settings.copy_options else ""
    return (
        f"COPY {settings.table}{columns} FROM 's3://{bucket}/{manifest_key}' "
        f"CREDENTIALS 'aws_iam_role={settings.role_arn}' MANIFEST{options};"
    )


class RedshiftLoader:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.registry = registry_for(ctx)
        self.serverless = serverless.state_for(ctx)

    def run_copy(self, settings: RedshiftSettings, sql: str) -> None:
        """Run the COPY as the destination's user; ``DeliveryError`` when it fails."""
        target = self._target(settings)
        username, password = self._credentials(settings)
        statement_id = Statement.new_id()
        statement = Statement(
            id=statement_id,
            subs=[SubStatement(id=statement_id, sql=sql)],
            is_batch=False,
            region=target.arn.split(":")[3],
            database=settings.database.lower(),
            db_user=username,
            parameters=[],
            target_arn=target.arn,
            connection_error=self._refusal(target, username, password),
        )
        context = statements.ExecutionContext(
            warehouse=target.warehouse,
            base_capacity=target.base_capacity,
            session_parameters=target.session_parameters,
            on_done=lambda done: None,
        )
        target.warehouse.submit(lambda: statements.execute(statement, context))
        if not statement.done.wait(COPY_TIMEOUT_SECONDS):
            statements.cancel(statement)
            raise DeliveryError("InternalError", "The COPY did not finish in time and was cancelled.")
        if statement.status != "FINISHED":
            raise classify(statement.error or statement.subs[0].error or "the COPY failed")

    def _credentials(self, settings: RedshiftSettings) -> tuple[str, str]:
        if settings.secret_arn is None:
            return (settings.username or "").lower(), settings.password or ""
        region = settings.secret_arn.split(":")[3]
        backend = self.ctx.backend("secretsmanager", region)
        try:
            secret = json.loads(backend.get_secret_value(settings.secret_arn, None, None).get("SecretString") or "")
            return str(secret["username"]).lower(), str(secret["password"])
        except Exception as error:  # a missing secret, or one without username and password
            raise DeliveryError(
                "Redshift.AuthenticationFailed",
                "The provided user name and password failed authentication. Provide a valid user name and password.",
                f"the secret {settings.secret_arn} could not be read as {{username, password}}: {error}",
            ) from error

    @staticmethod
    def _refusal(target: targets.Target, username: str, password: str) -> str | None:
        refused = f'FATAL: password authentication failed for user "{username}"'
        if target.warehouse.user_id(username) is None:
            return refused
        if username == (target.admin_user or "").lower() and target.admin_password and password != target.admin_password:
            return refused
        return None

    def _target(self, settings: RedshiftSettings) -> targets.Target:
        workgroup = settings.serverless_workgroup()
        if workgroup is not None:
            return self._workgroup(*workgroup)
        cluster = settings.cluster()
        if cluster is not None:
            return self._cluster(*cluster)
        raise DeliveryError(*CONNECTION_FAILED, f"{settings.host} is neither a Redshift Serverless nor a cluster endpoint")

    def _workgroup(self, name: str, region: str) -> targets.Target:
        with self.serverless.lock:
            workgroup = self.serverless.workgroup(region, name)
            namespace = self.serverless.namespaces(region).get(workgroup.namespace_name) if workgroup else None
        if workgroup is None or namespace is None or workgroup.status not in ("AVAILABLE", "MODIFYING"):
            raise DeliveryError(*CONNECTION_FAILED, f"workgroup {name} in {region} is not available")
        warehouse = self.registry.get(namespace_key(region, namespace.name))
        if warehouse is None:
            raise DeliveryError(*CONNECTION_FAILED, f"namespace {namespace.name} has no warehouse")
        return targets.workgroup_target(workgroup, namespace, warehouse)

    def _cluster(self, cluster_id: str, region: str) -> targets.Target:
        cluster: Any = self.ctx.backend("redshift", region).clusters.get(cluster_id)
        if cluster is None:
            raise DeliveryError(*CONNECTION_FAILED, f"cluster {cluster_id} in {region} does not exist")
        return targets.cluster_target(self.registry, region, cluster)
