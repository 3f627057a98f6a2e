"""Find everything the workbook created, and delete it in an order AWS accepts.

``find()`` lists the workbook's resources, service by service, with each service's own list and tag
calls: a resource is the workbook's when its name is one of ``config.Names`` (found by **name**) or
when it carries the workbook's tags, ``config.TAGS`` (found by **tag**; benchmarks and notebooks 11
and 12 create tagged resources whose names add a suffix to a configured one). Resources that
cannot carry tags (Glue databases, budgets, EventBridge Scheduler schedules, the Glue run logs) are
found by name only. The Resource Groups Tagging API is asked too
(https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html): a
tagged resource of a type no finder looks for is listed as such and left for the learner to delete.

``delete()`` deletes a listing in dependency order (``KIND_ORDER``): what reads a resource goes
before it (mappings before functions, Firehose before its source stream and the workgroup, the
workgroup before its namespace and security group, roles last). Each deletion is idempotent: a
resource already gone is reported as such. ``find()`` again afterwards must be empty.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from helpers import aws, budgets, config, firehose, iam, ingestion_api, stream, warehouse_network

GONE_WAIT_S = 900  # a Redshift workgroup takes minutes to delete on AWS
# The shortest recovery window DeleteSecret allows (7-30 days, default 30): the secret can be restored
# until then (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html).
SECRET_RECOVERY_DAYS = 7
GLUE_JOB_LOG_GROUPS = ("/aws-glue/python-jobs/output", "/aws-glue/python-jobs/error")
GLUE_CRAWLER_LOG_GROUP = "/aws-glue/crawlers"
NOT_FOUND = {
    "ResourceNotFoundException", "NotFoundException", "EntityNotFoundException", "NoSuchEntity",
    "NoSuchBucket", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NotFound",
    "InvalidGroup.NotFound", "ResourceNotFound",
}  # fmt: skip

# Deletion order: a resource comes after everything that uses it.
KIND_ORDER = (
    "event source mapping", "Firehose stream", "usage plan", "API key", "REST API", "EventBridge schedule",
    "EventBridge rule", "Lambda function", "log group", "Glue crawler", "Glue job", "Glue run logs",
    "Glue table", "Glue database", "Redshift workgroup", "Redshift namespace", "security group", "secret",
    "SQS queue", "SNS topic", "DynamoDB table", "Kinesis stream", "S3 bucket", "IAM role", "budget",
    "tagged resource",
)  # fmt: skip


@dataclass(frozen=True)
class Resource:
    """One thing the workbook created."""

    service: str
    kind: str  # one of KIND_ORDER
    name: str  # its name (or id)
    found_by: str  # "name", "tag", "name and tag", or what it belongs to
    arn: str = ""
    members: tuple[str, ...] = field(default=(), compare=False)  # e.g. the log streams of Glue runs

    def row(self) -> dict[str, str]:
        return {"service": self.service, "type": self.kind, "name": self.name, "ARN": self.arn, "found by": self.found_by}


def tagged(tags: dict[str, str] | list[dict[str, str]] | None) -> bool:
    """True when ``tags`` (a dict, or a list of Key/Value or key/value pairs) hold every workbook tag."""
    if isinstance(tags, list):
        tags = {t.get("Key", t.get("key")): t.get("Value", t.get("value")) for t in tags}
    return all((tags or {}).get(k) == v for k, v in config.TAGS.items())


def how_found(by_name: bool, by_tag: bool) -> str | None:
    return {(True, True): "name and tag", (True, False): "name", (False, True): "tag"}.get((by_name, by_tag))


def ordered(resources: Iterable[Resource]) -> list[Resource]:
    """The resources in deletion order (kind by kind, names alphabetical within a kind)."""
    return sorted(resources, key=lambda r: (KIND_ORDER.index(r.kind), r.name))


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _names() -> config.Names:
    return config.settings().names


def _function_names() -> set[str]:
    n = _names()
    return {n.fn_kinesis_api, n.fn_kinesis_to_s3, n.fn_kinesis_to_dynamodb, n.fn_bulk_import}


# ---------------------------------------------------------------------------------------------
# Finders: one per service, each returns the workbook's resources of that service


def _find_lambda() -> list[Resource]:
    lam = aws.client("lambda")
    found = []
    for page in lam.get_paginator("list_functions").paginate():
        for fn in page["Functions"]:
            how = how_found(fn["FunctionName"] in _function_names(), tagged(lam.list_tags(Resource=fn["FunctionArn"])["Tags"]))
            if how:
                found.append(Resource("lambda", "Lambda function", fn["FunctionName"], how, fn["FunctionArn"]))
    functions = {r.name for r in found}
    for page in lam.get_paginator("list_event_source_mappings").paginate():
        for mapping in page["EventSourceMappings"]:
            function = mapping["FunctionArn"].split(":")[6]
            if function in functions:
                arn = mapping.get("EventSourceMappingArn", "")
                found.append(Resource("lambda", "event source mapping", mapping["UUID"], f"function {function}", arn))
    return found


def _find_log_groups(functions: Iterable[str], delivery_streams: Iterable[str], glue: dict[str, list[str]]) -> list[Resource]:
    """The log groups of the workbook's functions and Firehose streams, tagged log groups, and the
    log streams of its Glue crawler and job runs (Glue's log groups are shared by every crawler and
    job of the account, so only the workbook's streams in them are its own)."""
    logs = aws.client("logs")
    expected = {f"/aws/lambda/{f}": f"function {f}" for f in functions}
    expected |= {firehose.log_group_name(s): f"Firehose stream {s}" for s in delivery_streams}
    found = []
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page["logGroups"]:
            name, arn = group["logGroupName"], group["arn"].removesuffix(":*")
            by_tag = tagged(logs.list_tags_for_resource(resourceArn=arn).get("tags"))
            if name in expected or by_tag:
                found.append(Resource("logs", "log group", name, expected.get(name, "tag"), arn))
    for group, owned in glue.items():
        streams = [s for s in _log_stream_names(logs, group) if s in set(owned)]
        if streams:
            found.append(Resource("logs", "Glue run logs", f"{group} ({len(streams)} streams)", "Glue crawler and job runs", members=tuple(streams)))
    return found


def _glue_log_streams(crawlers: Iterable[str], jobs: Iterable[str]) -> dict[str, list[str]]:
    """The log streams Glue writes for the workbook: one per crawler in ``/aws-glue/crawlers``, one per
    job run (named after the run's id) in ``/aws-glue/python-jobs/output`` and ``.../error``."""
    glue = aws.client("glue")
    runs = [run["Id"] for job in jobs for page in glue.get_paginator("get_job_runs").paginate(JobName=job) for run in page["JobRuns"]]
    return {GLUE_CRAWLER_LOG_GROUP: list(crawlers), **{group: runs for group in GLUE_JOB_LOG_GROUPS}}


def _log_stream_names(logs: Any, group: str) -> list[str]:
    try:
        pages = logs.get_paginator("describe_log_streams").paginate(logGroupName=group)
        return [s["logStreamName"] for page in pages for s in page["logStreams"]]
    except ClientError as error:
        if _code(error) in NOT_FOUND:
            return []
        raise


def _find_kinesis_and_firehose() -> list[Resource]:
    kinesis, fh = aws.client("kinesis"), aws.client("firehose")
    found = []
    for page in kinesis.get_paginator("list_streams").paginate():
        for summary in page.get("StreamSummaries", []):
            name = summary["StreamName"]
            how = how_found(name == _names().stream, tagged(kinesis.list_tags_for_stream(StreamName=name)["Tags"]))
            if how:
                found.append(Resource("kinesis", "Kinesis stream", name, how, summary["StreamARN"]))
    names: list[str] = []
    start: dict[str, str] = {}
    while True:  # ListDeliveryStreams pages by the last name seen (no paginator)
        page = fh.list_delivery_streams(Limit=100, **start)
        names += page["DeliveryStreamNames"]
        if not page["HasMoreDeliveryStreams"]:
            break
        start = {"ExclusiveStartDeliveryStreamName": names[-1]}
    for name in names:
        how = how_found(name == _names().firehose_stream, tagged(fh.list_tags_for_delivery_stream(DeliveryStreamName=name)["Tags"]))
        if how:
            arn = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]["DeliveryStreamARN"]
            found.append(Resource("firehose", "Firehose stream", name, how, arn))
    return found


def _find_apigateway() -> list[Resource]:
    gateway = aws.client("apigateway")
    region = config.settings().region
    wanted = {"REST API": _names().api_name, "API key": ingestion_api.key_name(), "usage plan": ingestion_api.plan_name()}
    listings = {
        "REST API": ("get_rest_apis", "/restapis/"),
        "API key": ("get_api_keys", "/apikeys/"),
        "usage plan": ("get_usage_plans", "/usageplans/"),
    }
    found = []
    for kind, (operation, path) in listings.items():
        for page in gateway.get_paginator(operation).paginate():
            for item in page["items"]:
                how = how_found(item.get("name") == wanted[kind], tagged(item.get("tags")))
                if how:
                    arn = f"arn:{_partition()}:apigateway:{region}::{path}{item['id']}"
                    found.append(Resource("apigateway", kind, f"{item.get('name')} ({item['id']})", how, arn))
    return found


def _find_events() -> list[Resource]:
    events, scheduler = aws.client("events"), aws.client("scheduler")
    rule_name = _names().schedule_rule
    found = []
    for page in events.get_paginator("list_rules").paginate():
        for rule in page["Rules"]:
            how = how_found(rule["Name"] == rule_name, tagged(events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]))
            if how:
                found.append(Resource("events", "EventBridge rule", rule["Name"], how, rule["Arn"]))
    # EventBridge Scheduler's schedules take no tags: found by the rule's name, or that name and a suffix.
    for page in scheduler.get_paginator("list_schedules").paginate():
        for schedule in page["Schedules"]:
            if schedule["Name"] == rule_name or schedule["Name"].startswith(f"{rule_name}-"):
                name = f"{schedule.get('GroupName', 'default')}/{schedule['Name']}"
                found.append(Resource("scheduler", "EventBridge schedule", name, "name", schedule["Arn"]))
    return found


def _find_glue() -> list[Resource]:
    glue = aws.client("glue")
    n = _names()
    prefix = f"arn:{_partition()}:glue:{config.settings().region}:{aws.account_id()}"
    found = []
    for kind, operation, key, wanted, arn_kind in (
        ("Glue crawler", "get_crawlers", "Crawlers", n.glue_crawler, "crawler"),
        ("Glue job", "get_jobs", "Jobs", n.glue_job, "job"),
    ):
        for page in glue.get_paginator(operation).paginate():
            for item in page[key]:
                arn = f"{prefix}:{arn_kind}/{item['Name']}"
                how = how_found(item["Name"] == wanted, tagged(glue.get_tags(ResourceArn=arn)["Tags"]))
                if how:
                    found.append(Resource("glue", kind, item["Name"], how, arn))
    try:
        glue.get_database(Name=n.glue_database)
    except glue.exceptions.EntityNotFoundException:
        return found
    for page in glue.get_paginator("get_tables").paginate(DatabaseName=n.glue_database):
        for table in page["TableList"]:
            arn = f"{prefix}:table/{n.glue_database}/{table['Name']}"
            found.append(Resource("glue", "Glue table", f"{n.glue_database}.{table['Name']}", f"database {n.glue_database}", arn))
    found.append(Resource("glue", "Glue database", n.glue_database, "name", f"{prefix}:database/{n.glue_database}"))
    return found


def _find_redshift() -> list[Resource]:
    rs = aws.client("redshift-serverless")
    n = _names()
    found = []
    for kind, operation, key, wanted in (
        ("Redshift workgroup", "list_workgroups", "workgroups", n.redshift_workgroup),
        ("Redshift namespace", "list_namespaces", "namespaces", n.redshift_namespace),
    ):
        item_key = "workgroup" if kind.endswith("workgroup") else "namespace"
        for page in rs.get_paginator(operation).paginate():
            for item in page[key]:
                arn = item[f"{item_key}Arn"]
                how = how_found(item[f"{item_key}Name"] == wanted, tagged(rs.list_tags_for_resource(resourceArn=arn)["tags"]))
                if how:
                    found.append(Resource("redshift-serverless", kind, item[f"{item_key}Name"], how, arn))
    return found


def _find_security_groups() -> list[Resource]:
    """The security group notebook 07 opens the workgroup to Firehose with (name, or tag)."""
    ec2 = aws.client("ec2")
    region, account = config.settings().region, aws.account_id()
    found = []
    for page in ec2.get_paginator("describe_security_groups").paginate():
        for group in page["SecurityGroups"]:
            how = how_found(group["GroupName"] == warehouse_network.security_group_name(), tagged(group.get("Tags")))
            if how:
                arn = f"arn:{_partition()}:ec2:{region}:{account}:security-group/{group['GroupId']}"
                found.append(Resource("ec2", "security group", f"{group['GroupName']} ({group['GroupId']})", how, arn))
    return found


def _find_secrets() -> list[Resource]:
    """The workbook's secrets. Those Redshift manages (the admin password) go with their namespace."""
    sm = aws.client("secretsmanager")
    wanted = {_names().redshift_firehose_secret, _names().redshift_secret}
    found = []
    for page in sm.get_paginator("list_secrets").paginate():
        for secret in page["SecretList"]:
            if secret.get("OwningService"):
                continue
            how = how_found(secret["Name"] in wanted, tagged(secret.get("Tags")))
            if how:
                found.append(Resource("secretsmanager", "secret", secret["Name"], how, secret["ARN"]))
    return found


def _find_queues_and_topics(functions: Iterable[str]) -> list[Resource]:
    sqs, sns = aws.client("sqs"), aws.client("sns")
    wanted = {stream.failure_queue_name(f) for f in functions} | {stream.failure_queue_name(f) for f in _function_names()}
    found = []
    for page in sqs.get_paginator("list_queues").paginate():
        for url in page.get("QueueUrls", []):
            name = url.rsplit("/", 1)[1]
            how = how_found(name in wanted, tagged(sqs.list_queue_tags(QueueUrl=url).get("Tags")))
            if how:
                arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                found.append(Resource("sqs", "SQS queue", name, how, arn))
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page["Topics"]:
            if tagged(sns.list_tags_for_resource(ResourceArn=topic["TopicArn"])["Tags"]):
                found.append(Resource("sns", "SNS topic", topic["TopicArn"].rsplit(":", 1)[1], "tag", topic["TopicArn"]))
    return found


def _find_dynamodb() -> list[Resource]:
    dynamodb = aws.client("dynamodb")
    wanted = {_names().invoice_table, _names().customer_table}
    found = []
    for page in dynamodb.get_paginator("list_tables").paginate():
        for name in page["TableNames"]:
            arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
            how = how_found(name in wanted, tagged(dynamodb.list_tags_of_resource(ResourceArn=arn).get("Tags")))
            if how:
                found.append(Resource("dynamodb", "DynamoDB table", name, how, arn))
    return found


def _find_buckets() -> list[Resource]:
    s3 = aws.client("s3")
    wanted = aws.bucket()
    found = []
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        try:
            tags = s3.get_bucket_tagging(Bucket=name)["TagSet"]
        except ClientError as error:  # NoSuchTagSet; or another Region's bucket this client cannot read
            if name == wanted:
                tags = []
            elif _code(error) in ("NoSuchTagSet", "AccessDenied", "PermanentRedirect", "AuthorizationHeaderMalformed"):
                continue
            else:
                raise
        how = how_found(name == wanted, tagged(tags))
        if how:
            found.append(Resource("s3", "S3 bucket", name, how, f"arn:{_partition()}:s3:::{name}"))
    return found


def _find_roles() -> list[Resource]:
    client = aws.client("iam")
    wanted = set(_names().roles.values())
    found = []
    for page in client.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            name = role["RoleName"]
            if role.get("Path", "/").startswith("/aws-service-role/"):
                continue  # service-linked roles belong to their service
            how = how_found(name in wanted, tagged(client.list_role_tags(RoleName=name)["Tags"]))
            if how:
                found.append(Resource("iam", "IAM role", name, how, role["Arn"]))
    return found


def _find_budgets() -> list[Resource]:
    name = budgets.budget_name()
    try:
        if budgets.describe(name) is None:
            return []
    except ClientError as error:  # Budgets needs its own permission (budgets:ViewBudget), which not every learner has
        if _code(error) != "AccessDeniedException":
            raise
        warnings.warn(f"cannot look for the budget {name} ({error}); delete it in the Billing console if you made one", stacklevel=2)
        return []
    return [Resource("budgets", "budget", name, "name", f"arn:{_partition()}:budgets::{aws.account_id()}:budget/{name}")]


# The (service, resource type) of ARNs a finder above lists exhaustively: the Tagging API's answers
# of these types are already known, or are gone (AWS's Tagging API, and moto's, can list a deleted or
# pending-deletion resource for a while).
COVERED_TYPES = {
    ("lambda", "function"), ("lambda", "event-source-mapping"), ("kinesis", "stream"), ("firehose", "deliverystream"),
    ("logs", "log-group"), ("apigateway", "restapis"), ("apigateway", "apikeys"), ("apigateway", "usageplans"),
    ("events", "rule"), ("scheduler", "schedule"), ("glue", "crawler"), ("glue", "job"), ("glue", "database"),
    ("glue", "table"), ("redshift-serverless", "workgroup"), ("redshift-serverless", "namespace"),
    ("ec2", "security-group"), ("secretsmanager", "secret"), ("sqs", "*"), ("sns", "*"), ("dynamodb", "table"),
    ("s3", "*"), ("iam", "role"), ("budgets", "budget"),
}  # fmt: skip


def arn_type(arn: str) -> tuple[str, str]:
    """(service, resource type) of an ARN: ``function`` in ``arn:aws:lambda:...:function:name``, ``restapis``
    in ``arn:aws:apigateway:...::/restapis/id``; ``*`` for services whose ARNs name no type (S3, SQS, SNS)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"{arn!r} is not an ARN")
    service, resource = parts[2], parts[5]
    if service in ("s3", "sqs", "sns"):
        return service, "*"
    return service, re.split(r"[:/]", resource.lstrip("/"), maxsplit=1)[0]


def _find_tagged_elsewhere(known: Iterable[Resource]) -> list[Resource]:
    """Tagged resources the Resource Groups Tagging API knows, of types no finder above lists."""
    tagging = aws.client("resourcegroupstaggingapi")
    filters = [{"Key": k, "Values": [v]} for k, v in config.TAGS.items()]
    seen = {r.arn for r in known if r.arn}
    found = []
    for page in tagging.get_paginator("get_resources").paginate(TagFilters=filters):
        for mapping in page["ResourceTagMappingList"]:
            arn = mapping["ResourceARN"].removesuffix(":*")
            if arn not in seen and arn_type(arn) not in COVERED_TYPES:
                found.append(Resource(arn.split(":")[2], "tagged resource", arn.split(":", 5)[5], "tag (Tagging API only)", arn))
    return found


def _partition() -> str:
    return iam.partition(config.settings().region)


def find() -> list[Resource]:
    """Every resource of the workbook, in deletion order."""
    found = _find_lambda() + _find_kinesis_and_firehose() + _find_glue()
    functions = [r.name for r in found if r.kind == "Lambda function"]
    delivery_streams = [r.name for r in found if r.kind == "Firehose stream"]
    crawlers = [r.name for r in found if r.kind == "Glue crawler"]
    jobs = [r.name for r in found if r.kind == "Glue job"]
    found += _find_log_groups(functions, delivery_streams, _glue_log_streams(crawlers, jobs))
    found += _find_apigateway() + _find_events() + _find_redshift() + _find_security_groups() + _find_secrets()
    found += _find_queues_and_topics(functions) + _find_dynamodb() + _find_buckets() + _find_roles() + _find_budgets()
    found += _find_tagged_elsewhere(found)
    return ordered(found)


# ---------------------------------------------------------------------------------------------
# Deleters: one per kind; each returns what happened, and treats "not found" as already gone


def _wait_gone(describe: Callable[[], Any], what: str, timeout_s: float = GONE_WAIT_S) -> None:
    """Call ``describe`` until it raises a not-found error (deletions on AWS take a while)."""
    deadline, pause = time.monotonic() + timeout_s, 0.5
    while True:
        try:
            describe()
        except ClientError as error:
            if _code(error) in NOT_FOUND:
                return
            raise
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} still exists after {timeout_s:.0f} s")
        time.sleep(pause)
        pause = min(pause * 2, 10.0)


def _delete_mapping(r: Resource, **_: Any) -> str:
    lam = aws.client("lambda")
    lam.delete_event_source_mapping(UUID=r.name)
    _wait_gone(lambda: lam.get_event_source_mapping(UUID=r.name), f"mapping {r.name}")
    return "deleted"


def _delete_delivery_stream(r: Resource, **_: Any) -> str:
    fh = aws.client("firehose")
    fh.delete_delivery_stream(DeliveryStreamName=r.name, AllowForceDelete=True)
    _wait_gone(lambda: fh.describe_delivery_stream(DeliveryStreamName=r.name), f"Firehose stream {r.name}")
    return "deleted"


def _api_id(r: Resource) -> str:
    return r.name.rsplit("(", 1)[1].rstrip(")")


def _delete_usage_plan(r: Resource, **_: Any) -> str:
    gateway = aws.client("apigateway")
    plan = gateway.get_usage_plan(usagePlanId=_api_id(r))
    stages = [{"op": "remove", "path": "/apiStages", "value": f"{s['apiId']}:{s['stage']}"} for s in plan.get("apiStages", [])]
    if stages:  # a plan still attached to a stage cannot be deleted
        gateway.update_usage_plan(usagePlanId=_api_id(r), patchOperations=stages)
    gateway.delete_usage_plan(usagePlanId=_api_id(r))
    return "deleted"


def _delete_api_key(r: Resource, **_: Any) -> str:
    aws.client("apigateway").delete_api_key(apiKey=_api_id(r))
    return "deleted"


def _delete_rest_api(r: Resource, **_: Any) -> str:
    aws.client("apigateway").delete_rest_api(restApiId=_api_id(r))
    return "deleted"


def _delete_schedule(r: Resource, **_: Any) -> str:
    group, name = r.name.split("/", 1)
    aws.client("scheduler").delete_schedule(Name=name, GroupName=group)
    return "deleted"


def _delete_rule(r: Resource, **_: Any) -> str:
    events = aws.client("events")
    ids = [t["Id"] for page in events.get_paginator("list_targets_by_rule").paginate(Rule=r.name) for t in page["Targets"]]
    if ids:  # a rule with targets cannot be deleted
        events.remove_targets(Rule=r.name, Ids=ids)
    events.delete_rule(Name=r.name)
    return f"deleted (and its {len(ids)} target(s))"


def _delete_function(r: Resource, **_: Any) -> str:
    aws.client("lambda").delete_function(FunctionName=r.name)  # its permissions go with it
    return "deleted"


def _delete_log_group(r: Resource, **_: Any) -> str:
    aws.client("logs").delete_log_group(logGroupName=r.name)
    return "deleted"


def _delete_glue_run_logs(r: Resource, **_: Any) -> str:
    logs = aws.client("logs")
    group = r.name.split(" (", 1)[0]
    for name in r.members:
        try:
            logs.delete_log_stream(logGroupName=group, logStreamName=name)
        except logs.exceptions.ResourceNotFoundException:
            pass
    count = len(r.members)
    return f"deleted {count} log stream{'' if count == 1 else 's'} (the group is Glue's, shared by every crawler and job)"


def _delete_crawler(r: Resource, **_: Any) -> str:
    glue = aws.client("glue")
    if glue.get_crawler(Name=r.name)["Crawler"]["State"] == "RUNNING":
        glue.stop_crawler(Name=r.name)
    deadline = time.monotonic() + GONE_WAIT_S
    while glue.get_crawler(Name=r.name)["Crawler"]["State"] != "READY":  # a running crawler cannot be deleted
        if time.monotonic() > deadline:
            raise TimeoutError(f"crawler {r.name} did not stop")
        time.sleep(2)
    glue.delete_crawler(Name=r.name)
    return "deleted"


def _delete_job(r: Resource, **_: Any) -> str:
    aws.client("glue").delete_job(JobName=r.name)
    return "deleted"


def _delete_table(r: Resource, **_: Any) -> str:
    database, table = r.name.split(".", 1)
    aws.client("glue").delete_table(DatabaseName=database, Name=table)
    return "deleted"


def _delete_database(r: Resource, **_: Any) -> str:
    aws.client("glue").delete_database(Name=r.name)
    return "deleted"


def _delete_workgroup(r: Resource, **_: Any) -> str:
    rs = aws.client("redshift-serverless")
    _wait_settled(lambda: rs.get_workgroup(workgroupName=r.name)["workgroup"]["status"], f"workgroup {r.name}")
    rs.delete_workgroup(workgroupName=r.name)
    _wait_gone(lambda: rs.get_workgroup(workgroupName=r.name), f"workgroup {r.name}")
    return "deleted"


def _delete_namespace(r: Resource, **_: Any) -> str:
    rs = aws.client("redshift-serverless")
    _wait_settled(lambda: rs.get_namespace(namespaceName=r.name)["namespace"]["status"], f"namespace {r.name}")
    rs.delete_namespace(namespaceName=r.name)  # no final snapshot: the workbook's data can be rebuilt
    _wait_gone(lambda: rs.get_namespace(namespaceName=r.name), f"namespace {r.name}")
    return "deleted (with its data and the admin secret Redshift managed)"


def _wait_settled(status: Callable[[], str], what: str) -> None:
    """Wait while the resource is being created or modified: AWS refuses to delete it meanwhile."""
    deadline = time.monotonic() + GONE_WAIT_S
    while status() in ("CREATING", "MODIFYING"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} is still changing after {GONE_WAIT_S} s")
        time.sleep(5)


def _delete_security_group(r: Resource, **_: Any) -> str:
    group_id = r.name.rsplit("(", 1)[1].rstrip(")")
    aws.client("ec2").delete_security_group(GroupId=group_id)
    return "deleted"


def _delete_secret(r: Resource, *, force_delete_secrets: bool = False, **_: Any) -> str:
    sm = aws.client("secretsmanager")
    if force_delete_secrets:
        sm.delete_secret(SecretId=r.arn or r.name, ForceDeleteWithoutRecovery=True)
        return "deleted at once, without recovery"
    try:
        sm.delete_secret(SecretId=r.arn or r.name, RecoveryWindowInDays=SECRET_RECOVERY_DAYS)
    except sm.exceptions.InvalidRequestException as error:
        if "marked for deletion" not in str(error):
            raise
        return "already scheduled for deletion"
    return f"scheduled for deletion in {SECRET_RECOVERY_DAYS} days (restore_secret undoes it until then)"


def _delete_queue(r: Resource, **_: Any) -> str:
    sqs = aws.client("sqs")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=r.name)["QueueUrl"])
    return "deleted"


def _delete_topic(r: Resource, **_: Any) -> str:
    aws.client("sns").delete_topic(TopicArn=r.arn)
    return "deleted"


def _delete_table_dynamodb(r: Resource, **_: Any) -> str:
    dynamodb = aws.client("dynamodb")
    dynamodb.delete_table(TableName=r.name)
    dynamodb.get_waiter("table_not_exists").wait(TableName=r.name)
    return "deleted (point-in-time backups go with it)"


def _delete_stream(r: Resource, **_: Any) -> str:
    kinesis = aws.client("kinesis")
    kinesis.delete_stream(StreamName=r.name, EnforceConsumerDeletion=True)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=r.name)
    return "deleted"


def _delete_bucket(r: Resource, **_: Any) -> str:
    """Empty the bucket (every version and delete marker, and unfinished uploads), then delete it."""
    s3 = aws.client("s3")
    removed = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=r.name):
        entries = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        for start in range(0, len(entries), 1000):  # DeleteObjects takes at most 1,000 keys
            errors = s3.delete_objects(Bucket=r.name, Delete={"Objects": entries[start : start + 1000], "Quiet": True}).get("Errors")
            if errors:
                raise RuntimeError(f"could not delete {len(errors)} objects of {r.name}, e.g. {errors[0]}")
            removed += len(entries[start : start + 1000])
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=r.name):
        for upload in page.get("Uploads", []):
            s3.abort_multipart_upload(Bucket=r.name, Key=upload["Key"], UploadId=upload["UploadId"])
    s3.delete_bucket(Bucket=r.name)
    return f"emptied ({removed:,} object versions) and deleted"


def _delete_role(r: Resource, **_: Any) -> str:
    """Inline policies, attached policies and instance profiles first: IAM refuses to delete a role that has any."""
    client = aws.client("iam")
    for name in client.list_role_policies(RoleName=r.name)["PolicyNames"]:
        client.delete_role_policy(RoleName=r.name, PolicyName=name)
    for policy in client.list_attached_role_policies(RoleName=r.name)["AttachedPolicies"]:
        client.detach_role_policy(RoleName=r.name, PolicyArn=policy["PolicyArn"])
    for profile in client.list_instance_profiles_for_role(RoleName=r.name)["InstanceProfiles"]:
        client.remove_role_from_instance_profile(InstanceProfileName=profile["InstanceProfileName"], RoleName=r.name)
    client.delete_role(RoleName=r.name)
    return "deleted (with its inline policy)"


def _delete_budget(r: Resource, **_: Any) -> str:
    budgets.delete(r.name)
    return "deleted (with its notifications)"


def _leave_alone(r: Resource, **_: Any) -> str:
    return "NOT deleted: a tagged resource of a type this teardown does not know; delete it in the console"


DELETERS: dict[str, Callable[..., str]] = {
    "event source mapping": _delete_mapping, "Firehose stream": _delete_delivery_stream,
    "usage plan": _delete_usage_plan, "API key": _delete_api_key, "REST API": _delete_rest_api,
    "EventBridge schedule": _delete_schedule, "EventBridge rule": _delete_rule, "Lambda function": _delete_function,
    "log group": _delete_log_group, "Glue run logs": _delete_glue_run_logs, "Glue crawler": _delete_crawler,
    "Glue job": _delete_job, "Glue table": _delete_table, "Glue database": _delete_database,
    "Redshift workgroup": _delete_workgroup, "Redshift namespace": _delete_namespace,
    "security group": _delete_security_group, "secret": _delete_secret, "SQS queue": _delete_queue,
    "SNS topic": _delete_topic, "DynamoDB table": _delete_table_dynamodb, "Kinesis stream": _delete_stream,
    "S3 bucket": _delete_bucket, "IAM role": _delete_role, "budget": _delete_budget, "tagged resource": _leave_alone,
}  # fmt: skip


def delete(resources: Iterable[Resource], *, force_delete_secrets: bool = False, out: Callable[[str], None] = print) -> list[dict[str, str]]:
    """Delete ``resources`` in dependency order; one row per resource with what happened.

    A failure is reported in its row and the rest goes on (``find()`` afterwards shows what is left).
    """
    rows = []
    for r in ordered(resources):
        try:
            result = DELETERS[r.kind](r, force_delete_secrets=force_delete_secrets)
        except ClientError as error:
            result = "already gone" if _code(error) in NOT_FOUND else f"FAILED: {error}"
        except Exception as error:  # noqa: BLE001 (reported in the row; the rest must still be deleted)
            result = f"FAILED: {type(error).__name__}: {error}"
        out(f"{r.kind:<22} {r.name:<50} {result}")
        rows.append({**r.row(), "result": result})
    return rows


class DeletionNotConfirmed(RuntimeError):
    """Deleting on AWS needs ``confirm_delete`` set to the account's id."""


def check_confirmation(settings: config.Settings, account_id: str, confirm_delete: str) -> None:
    """On AWS, deleting needs ``confirm_delete`` to name the account: it cannot empty the wrong one by
    accident, nor be run blind. The local cloud is disposable and needs no confirmation."""
    if settings.is_local or str(confirm_delete).strip() == account_id:
        return
    raise DeletionNotConfirmed(
        f"This would delete the resources listed above from AWS account {account_id} ({settings.region}). "
        f"To go ahead, run with `-p confirm_delete {account_id}` or set confirm_delete = \"{account_id}\" "
        "in the parameters cell."
    )
