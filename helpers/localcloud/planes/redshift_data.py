"""The Redshift Data API (``RedshiftData.<Action>``), running the SQL on the local warehouse.

moto 5.2.5 answers every GetStatementResult with the same canned rows; this plane runs the SQL,
following the API reference (https://docs.aws.amazon.com/redshift-data/latest/APIReference/) and
"Using the Amazon Redshift Data API" (https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html):

* ExecuteStatement and BatchExecuteStatement submit SQL to a Redshift Serverless workgroup of the
  ``redshift_serverless`` plane (WorkgroupName, by name or ARN) or to a provisioned cluster moto
  serves (ClusterIdentifier); it runs asynchronously on the warehouse's worker (``statements``).
  Credentials: a Secrets Manager secret (SecretArn; its ``username``, and its ``password`` checked
  for the namespace's admin), DbUser for a cluster, or, for a workgroup, the caller's IAM identity
  (``IAM:moto``, moto's default user). ``:name`` Parameters, StatementName, WithEvent (an
  EventBridge event when the statement ends, ``statement_events``), ClientToken, ResultFormat and
  WaitTimeSeconds are supported; sessions (SessionId, SessionKeepAliveSeconds) are not.
* DescribeStatement, GetStatementResult (typed records, paged by size), GetStatementResultV2 (CSV),
  ListStatements and CancelStatement.
* ListDatabases, ListSchemas, ListTables and DescribeTable, answered from the warehouse's catalog.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from typing import Any

from helpers.localcloud import plane
from helpers.localcloud.plane import Context
from helpers.localcloud.warehouse import catalog, serverless, statement_events, statements, targets
from helpers.localcloud.warehouse.registry import namespace_key, registry_for
from helpers.localcloud.warehouse.statements import Statement, StatementStore, SubStatement
from helpers.localcloud.warehouse.translate import RelationName, TranslationError, placeholder_names

log = logging.getLogger("localcloud.redshift_data")

TARGET_PREFIX = "RedshiftData."
ID_PATTERN = re.compile(r"^[a-z0-9]{8}(-[a-z0-9]{4}){3}-[a-z0-9]{12}(:\d+)?$")
MAX_SQL_BYTES = 100 * 1024  # "The maximum query statement size is 100 KB."
MAX_ACTIVE_STATEMENTS = 500  # active (SUBMITTED, PICKED, STARTED) statements per account
MAX_BATCH_SQLS = 40
IAM_DB_USER = "IAM:moto"  # the database user of moto's default caller identity (user/moto)


class ApiError(plane.ApiError):
    message_key = "Message"  # the key RedshiftData uses for an error's message


def validation(message: str) -> ApiError:
    return ApiError("ValidationException", message)


def no_query(statement_id: str) -> ApiError:
    return ApiError("ResourceNotFoundException", "Query does not exist.", ResourceId=statement_id)


def _token(offset: int, owner: str) -> str:
    return base64.urlsafe_b64encode(f"{owner}|{offset}".encode()).decode()


def _offset(token: str | None, owner: str) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        token_owner, _, offset = text.rpartition("|")
        if token_owner != owner:
            raise ValueError(token_owner)
        return int(offset)
    except ValueError as error:
        raise validation("The NextToken is not valid.") from error


def _page(items: list, body: dict, owner: str, maximum: int, default: int) -> tuple[list, str | None]:
    limit = body.get("MaxResults") or default
    if not isinstance(limit, int) or not 0 <= limit <= maximum:
        raise validation(f"MaxResults must be between 0 and {maximum}.")
    start = _offset(body.get("NextToken"), owner)
    end = start + limit
    return items[start:end], (_token(end, owner) if end < len(items) else None)


def _like(pattern: str | None, value: str) -> bool:
    """SQL LIKE, as SchemaPattern and TablePattern are matched."""
    if pattern is None:
        return True
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


class RedshiftData(plane.JsonApiPlane):
    target_prefix = TARGET_PREFIX
    service_label = "RedshiftData"
    error_class = ApiError
    name = "redshift-data"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.state = serverless.state_for(ctx)
        self.registry = registry_for(ctx)
        self.store = StatementStore()
        self._submit_lock = threading.Lock()
        self.actions = {
            "ExecuteStatement": self.execute_statement,
            "BatchExecuteStatement": self.batch_execute_statement,
            "DescribeStatement": self.describe_statement,
            "GetStatementResult": self.get_statement_result,
            "GetStatementResultV2": self.get_statement_result_v2,
            "ListStatements": self.list_statements,
            "CancelStatement": self.cancel_statement,
            "ListDatabases": self.list_databases,
            "ListSchemas": self.list_schemas,
            "ListTables": self.list_tables,
            "DescribeTable": self.describe_table,
            "ListSessions": self.list_sessions,
        }

    def stop(self) -> None:
        self.registry.close_all()

    # -- where the SQL runs, and as whom -------------------------------------------------------

    def _target(self, region: str, body: dict) -> targets.Target:
        if body.get("SessionId") or body.get("SessionKeepAliveSeconds"):
            raise ApiError("NotImplemented", "The local cloud does not emulate Data API sessions (SessionId, SessionKeepAliveSeconds)", status=501)
        workgroup_name, cluster_id = body.get("WorkgroupName"), body.get("ClusterIdentifier")
        if workgroup_name and cluster_id:
            raise validation("ClusterIdentifier and WorkgroupName can't be specified together.")
        if not workgroup_name and not cluster_id:
            raise validation("Either ClusterIdentifier or WorkgroupName needs to be specified.")
        if workgroup_name:
            return self._workgroup_target(region, workgroup_name)
        return self._cluster_target(region, cluster_id)

    def _workgroup_target(self, region: str, name_or_arn: str) -> targets.Target:
        with self.state.lock:
            workgroup = self.state.workgroup(region, name_or_arn)
            if workgroup is None:
                raise ApiError("ResourceNotFoundException", f"Workgroup {name_or_arn} not found.", ResourceId=name_or_arn)
            if workgroup.status not in ("AVAILABLE", "MODIFYING"):
                raise validation(f"Workgroup {workgroup.name} is not available: its status is {workgroup.status}.")
            namespace = self.state.namespaces(region).get(workgroup.namespace_name)
        warehouse = self.registry.get(namespace_key(region, namespace.name)) if namespace else None
        if namespace is None or warehouse is None:
            raise validation(f"Workgroup {workgroup.name} has no namespace.")
        return targets.workgroup_target(workgroup, namespace, warehouse)

    def _cluster_target(self, region: str, cluster_id: str) -> targets.Target:
        cluster = self.ctx.backend("redshift", region).clusters.get(cluster_id)
        if cluster is None:
            raise validation("Redshift endpoint doesn't exist in this region.")
        return targets.cluster_target(self.registry, region, cluster)

    def _secret(self, region: str, secret_arn: str) -> dict:
        backend = self.ctx.backend("secretsmanager", region)
        if secret_arn not in backend.secrets:
            raise validation(f"Secrets Manager can't find the specified secret: {secret_arn}")
        value = backend.get_secret_value(secret_arn, version_id=None, version_stage=None)
        try:
            secret = json.loads(value.get("SecretString") or "")
        except ValueError as error:
            raise validation(f"The secret {secret_arn} is not a JSON object with username and password") from error
        if not isinstance(secret, dict) or not secret.get("username"):
            raise validation(f"The secret {secret_arn} has no username")
        return secret

    def _identity(self, region: str, body: dict, target: targets.Target) -> tuple[str, str | None, str | None]:
        """(database user, database named in the secret, why logging in fails) for the call's
        credentials. Only the admin's password is known, so only the admin's is checked."""
        secret_arn, db_user = body.get("SecretArn"), body.get("DbUser")
        if secret_arn and db_user:
            raise validation("SecretArn and DbUser can't be specified together.")
        if secret_arn:
            secret = self._secret(region, secret_arn)
            username = str(secret["username"])
            refused = None
            if username == target.admin_user and target.admin_password and secret.get("password") != target.admin_password:
                refused = f'FATAL: password authentication failed for user "{username}"'
            return username.lower(), secret.get("dbname"), refused
        if db_user:
            if body.get("WorkgroupName"):
                raise validation(
                    "DbUser is for clusters; a serverless workgroup maps the caller's IAM identity to its database user."
                )
            return db_user.lower(), None, None
        if body.get("ClusterIdentifier"):
            raise validation("Either SecretArn or DbUser needs to be specified to connect to a cluster.")
        return IAM_DB_USER, None, None

    def _database(self, body: dict, from_secret: str | None) -> str:
        database = body.get("Database") or from_secret
        if not database:
            raise validation("Database needs to be specified.")
        return str(database).lower()

    # -- submitting SQL ------------------------------------------------------------------------

    def _parameters(self, body: dict, sqls: list[str]) -> list[dict]:
        parameters = body.get("Parameters") or []
        names = [p.get("name") for p in parameters]
        if len(set(names)) != len(names):
            raise validation("Parameter names must be unique.")
        try:
            used = {name for sql in sqls for name in placeholder_names(sql)}
        except TranslationError as error:
            raise validation(error.message) from error
        missing = sorted(used - set(names))
        if missing:
            raise validation(f"The SQL uses the parameter :{missing[0]} but no value was given for it.")
        unused = sorted(set(names) - used)
        if unused:
            raise validation(f"The parameter {unused[0]} is not used in the SQL.")
        return [{"name": p["name"], "value": p["value"]} for p in parameters]

    def _submit(self, region: str, body: dict, sqls: list[str], is_batch: bool) -> dict:
        for sql in sqls:
            if not isinstance(sql, str) or not sql.strip():
                raise validation("The SQL statement can't be empty.")
            if len(sql.encode()) > MAX_SQL_BYTES:
                raise validation("The SQL statement exceeds the maximum size of 100 KB.")
        token = body.get("ClientToken")
        if token:
            existing = self.store.by_client_token(token)
            if existing is not None:
                return self._submitted(existing, body)
        result_format = body.get("ResultFormat", "JSON")
        if result_format not in ("JSON", "CSV"):
            raise validation("ResultFormat must be JSON or CSV.")
        mode = body.get("ExecutionMode", "TRANSACTION")
        if mode not in ("TRANSACTION", "AUTO_COMMIT"):
            raise validation("ExecutionMode must be TRANSACTION or AUTO_COMMIT.")
        target = self._target(region, body)
        db_user, secret_database, refused = self._identity(region, body, target)
        database = self._database(body, secret_database)
        parameters = self._parameters(body, sqls)
        statement_id = Statement.new_id()
        subs = (
            [SubStatement(id=f"{statement_id}:{n}", sql=sql) for n, sql in enumerate(sqls, start=1)]
            if is_batch
            else [SubStatement(id=statement_id, sql=sqls[0])]
        )
        statement = Statement(
            id=statement_id,
            subs=subs,
            is_batch=is_batch,
            region=region,
            database=database,
            db_user=db_user,
            parameters=parameters,
            target_arn=target.arn,
            workgroup_name=body.get("WorkgroupName"),
            cluster_identifier=body.get("ClusterIdentifier"),
            secret_arn=body.get("SecretArn"),
            given_db_user=body.get("DbUser"),
            statement_name=body.get("StatementName"),
            with_event=bool(body.get("WithEvent")),
            result_format=result_format,
            execution_mode=mode,
            client_token=token,
            connection_error=refused,
        )
        context = statements.ExecutionContext(
            warehouse=target.warehouse,
            base_capacity=target.base_capacity,
            session_parameters=target.session_parameters,
            on_done=self._on_done,
        )
        with self._submit_lock:
            if self.store.active_count() >= MAX_ACTIVE_STATEMENTS:
                raise ApiError("ActiveStatementsExceededException", "The number of active statements exceeds the limit.")
            self.store.add(statement)
        target.warehouse.submit(lambda: statements.execute(statement, context))
        return self._submitted(statement, body)

    def _submitted(self, statement: Statement, body: dict) -> dict:
        wait = body.get("WaitTimeSeconds")
        if wait is not None:
            if not isinstance(wait, int) or not 1 <= wait <= 30:
                raise validation("WaitTimeSeconds must be between 1 and 30.")
            statement.done.wait(wait)
        answer = {"Id": statement.id, "CreatedAt": statement.created_at, "Database": statement.database}
        answer.update(statement.target_fields())
        if wait is not None:
            answer.update(Status=statement.status, RedshiftPid=statement.pid, HasResultSet=any(s.has_result_set for s in statement.subs))
        return answer

    def execute_statement(self, region: str, body: dict) -> dict:
        return self._submit(region, body, [body.get("Sql")], is_batch=False)

    def batch_execute_statement(self, region: str, body: dict) -> dict:
        sqls = body.get("Sqls")
        if not isinstance(sqls, list) or not 1 <= len(sqls) <= MAX_BATCH_SQLS:
            raise validation(f"Sqls must have between 1 and {MAX_BATCH_SQLS} items.")
        return self._submit(region, body, sqls, is_batch=True)

    def _on_done(self, statement: Statement) -> None:
        if not statement.with_event:
            return
        try:
            statement_events.put(self.ctx, statement)
        except Exception:
            log.exception("could not put the WithEvent event of statement %s", statement.id)

    # -- statements ----------------------------------------------------------------------------

    def _find(self, body: dict) -> tuple[Statement, SubStatement | None]:
        statement_id = body.get("Id")
        if not isinstance(statement_id, str) or not ID_PATTERN.match(statement_id):
            raise validation("id must satisfy regex pattern: ^[a-z0-9]{8}(-[a-z0-9]{4}){3}-[a-z0-9]{12}(:\\d+)?$")
        found = self.store.find(statement_id)
        if found is None:
            raise no_query(statement_id)
        statement, sub = found
        wait = body.get("WaitTimeSeconds")
        if wait is not None:
            if not isinstance(wait, int) or not 1 <= wait <= 30:
                raise validation("WaitTimeSeconds must be between 1 and 30.")
            statement.done.wait(wait)
        return statement, sub

    def describe_statement(self, region: str, body: dict) -> dict:
        statement, sub = self._find(body)
        if sub is None:
            return statement.describe()
        described = sub.describe()
        described.update(Database=statement.database, RedshiftPid=statement.pid, ResultFormat=statement.result_format)
        described.update(statement.target_fields())
        return described

    def _result(self, body: dict, result_format: str) -> tuple[SubStatement, int]:
        statement, sub = self._find(body)
        if sub is None:
            if statement.is_batch:
                raise validation("BatchExecuteStatement result can only be retrieved with sub-statement id.")
            sub = statement.subs[0]
        if statement.result_format != result_format:
            operation = "GetStatementResultV2" if statement.result_format == "CSV" else "GetStatementResult"
            raise validation(f"The statement's ResultFormat is {statement.result_format}; fetch its result with {operation}.")
        if sub.status != "FINISHED" or sub.result is None:
            raise ApiError(
                "ResourceNotFoundException",
                "Query does not have result. Please check query status with DescribeStatement.",
                ResourceId=sub.id,
            )
        return sub, _offset(body.get("NextToken"), sub.id)

    def get_statement_result(self, region: str, body: dict) -> dict:
        sub, offset = self._result(body, "JSON")
        records, following = sub.result.records(offset)
        answer = {"Records": records, "ColumnMetadata": sub.result.column_metadata(), "TotalNumRows": sub.result.total_rows}
        if following is not None:
            answer["NextToken"] = _token(following, sub.id)
        return answer

    def get_statement_result_v2(self, region: str, body: dict) -> dict:
        sub, offset = self._result(body, "CSV")
        text, following = sub.result.csv(offset)
        answer = {
            "Records": [{"CSVRecords": text}],
            "ColumnMetadata": sub.result.column_metadata(),
            "TotalNumRows": sub.result.total_rows,
            "ResultFormat": "CSV",
        }
        if following is not None:
            answer["NextToken"] = _token(following, sub.id)
        return answer

    def list_statements(self, region: str, body: dict) -> dict:
        status = body.get("Status", "ALL")
        if status not in (*statements.ACTIVE, *statements.DONE, "ALL"):
            raise validation(f"Status {status} is not valid.")
        name_prefix = body.get("StatementName")
        filters = {key: body.get(key) for key in ("Database", "ClusterIdentifier", "WorkgroupName") if body.get(key)}
        found = []
        for statement in self.store.all():
            if statement.region != region or (status != "ALL" and statement.status != status):
                continue
            if name_prefix and not (statement.statement_name or "").startswith(name_prefix):
                continue
            values = {"Database": statement.database, "ClusterIdentifier": statement.cluster_identifier, "WorkgroupName": statement.workgroup_name}
            if any(values[key] != value for key, value in filters.items()):
                continue
            found.append(statement.summary())
        page, token = _page(found, body, "statements", maximum=100, default=100)
        return {"Statements": page, **({"NextToken": token} if token else {})}

    def cancel_statement(self, region: str, body: dict) -> dict:
        statement, _ = self._find(body)
        if statement.status in statements.DONE:
            raise validation(f"Could not cancel a query that is already in {statement.status} state with ID: {body['Id']}")
        statements.cancel(statement)
        return {"Status": True}

    def list_sessions(self, region: str, body: dict) -> dict:
        return {"Sessions": []}  # sessions are not emulated: there never is one

    # -- catalog -------------------------------------------------------------------------------

    def _catalog_cursor(self, region: str, body: dict) -> tuple[Any, str, targets.Target]:
        """A cursor on the warehouse, after the checks a connection makes, and the database to list
        (``Database``; ``ConnectedDatabase``, when given, is the one connected to)."""
        target = self._target(region, body)
        _, secret_database, refused = self._identity(region, body, target)
        if refused:
            raise ApiError("DatabaseConnectionException", refused)
        database = str(body.get("Database") or secret_database or target.default_database).lower()
        connected = str(body.get("ConnectedDatabase") or database).lower()
        databases = target.warehouse.databases()
        for name in (connected, database):
            if name not in databases:
                raise ApiError("DatabaseConnectionException", f'FATAL: database "{name}" does not exist')
        return target.warehouse.cursor(), database, target

    def list_databases(self, region: str, body: dict) -> dict:
        cursor, _, target = self._catalog_cursor(region, body)
        cursor.close()
        page, token = _page(target.warehouse.databases(), body, "databases", maximum=1000, default=1000)
        return {"Databases": page, **({"NextToken": token} if token else {})}

    def list_schemas(self, region: str, body: dict) -> dict:
        cursor, database, _ = self._catalog_cursor(region, body)
        try:
            names = [name for name in catalog.schemas(cursor, database) if _like(body.get("SchemaPattern"), name)]
        finally:
            cursor.close()
        page, token = _page(names, body, "schemas", maximum=1000, default=1000)
        return {"Schemas": page, **({"NextToken": token} if token else {})}

    def list_tables(self, region: str, body: dict) -> dict:
        cursor, database, _ = self._catalog_cursor(region, body)
        try:
            found = [
                {"name": name, "schema": schema, "type": kind}
                for schema, name, kind in catalog.tables(cursor, database)
                if _like(body.get("SchemaPattern"), schema) and _like(body.get("TablePattern"), name)
            ]
        finally:
            cursor.close()
        page, token = _page(found, body, "tables", maximum=1000, default=1000)
        return {"Tables": page, **({"NextToken": token} if token else {})}

    def describe_table(self, region: str, body: dict) -> dict:
        cursor, database, _ = self._catalog_cursor(region, body)
        schema, table = body.get("Schema"), body.get("Table")
        try:
            columns = []
            for table_schema, name, _ in catalog.tables(cursor, database):
                if (schema and table_schema != schema) or (table and name != table):
                    continue
                for column, rtype, nullable, _ in catalog.declared_columns(cursor, RelationName(database, table_schema, name)):
                    metadata = rtype.column_metadata(column, nullable, table_schema, name)
                    metadata.pop("label")
                    if rtype.name in ("varchar", "bpchar", "varbyte"):
                        metadata["length"] = rtype.length
                    columns.append(metadata)
        finally:
            cursor.close()
        page, token = _page(columns, body, f"describe|{schema}|{table}", maximum=1000, default=1000)
        answer: dict[str, Any] = {"ColumnList": page}
        if table:
            answer["TableName"] = table
        if token:
            answer["NextToken"] = token
        return answer
