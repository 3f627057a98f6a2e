"""Redshift Serverless: namespaces and workgroups, as the ``RedshiftServerless.<Action>`` JSON API.

moto 5.2.5 does not serve Redshift Serverless (every call is a 500), so this plane answers it,
following the API reference (https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/):
CreateNamespace, GetNamespace, ListNamespaces, UpdateNamespace, DeleteNamespace, CreateWorkgroup,
GetWorkgroup, ListWorkgroups, UpdateWorkgroup, DeleteWorkgroup, TagResource, UntagResource and
ListTagsForResource. The state and its rules (status transitions, capacities) are in
``warehouse.serverless``; a namespace's data lives in its warehouse (``warehouse.registry``),
created and deleted with it. ``manageAdminPassword`` stores the admin credentials in moto's
Secrets Manager, as AWS does in yours. Other actions (snapshots, usage limits, endpoints...) answer
``NotImplemented``.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import string
import time
from typing import Any, Callable

from helpers.localcloud import plane
from helpers.localcloud.plane import Context
from helpers.localcloud.warehouse import serverless
from helpers.localcloud.warehouse.engine import DATABASE_NAME
from helpers.localcloud.warehouse.registry import namespace_key, registry_for
from helpers.localcloud.warehouse.serverless import Namespace, Transition, Workgroup

TARGET_PREFIX = "RedshiftServerless."
NAME_PATTERN = re.compile(r"^[a-z0-9-]+$")
LOG_EXPORTS = ("useractivitylog", "userlog", "connectionlog")
MAX_TAGS = 200
DEFAULT_ADMIN_USERNAME = "admin"
PASSWORD_FORBIDDEN = set("'\"\\/@ ")
# The parameters UpdateWorkgroup changes; AWS takes one of them per request.
WORKGROUP_UPDATABLE = (
    "baseCapacity",
    "maxCapacity",
    "configParameters",
    "enhancedVpcRouting",
    "port",
    "publiclyAccessible",
    "securityGroupIds",
    "subnetIds",
    "ipAddressType",
)


class ApiError(plane.ApiError):
    message_key = "message"  # the key RedshiftServerless uses for an error's message


def validation(message: str) -> ApiError:
    return ApiError("ValidationException", message)


def constraint(value: Any, member: str, rule: str) -> ApiError:
    """AWS's wording for a value that breaks a model constraint."""
    return validation(f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {rule}")


def _name(body: dict, member: str) -> str:
    value = body.get(member)
    if not isinstance(value, str) or not value:
        raise validation(f"{member} is required")
    if len(value) < 3:
        raise constraint(value, member, "Member must have length greater than or equal to 3")
    if len(value) > 64:
        raise constraint(value, member, "Member must have length less than or equal to 64")
    if not NAME_PATTERN.match(value):
        raise constraint(value, member, "Member must satisfy regular expression pattern: ^[a-z0-9-]+$")
    return value


def _tags(entries: Any) -> dict[str, str]:
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise validation("tags must be a list of {key, value}")
    tags = {}
    for entry in entries:
        key, value = entry.get("key"), entry.get("value")
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or not isinstance(value, str) or len(value) > 256:
            raise validation("Each tag needs a key of 1 to 128 characters and a value of at most 256 characters")
        tags[key] = value
    return tags


def _check_password(password: str) -> None:
    # Redshift admin passwords: 8-64 printable ASCII characters with an upper case letter, a lower
    # case letter and a number, and none of ' " \ / @ or space.
    valid = (
        8 <= len(password) <= 64
        and any(c.isupper() for c in password)
        and any(c.islower() for c in password)
        and any(c.isdigit() for c in password)
        and all(32 < ord(c) < 127 and c not in PASSWORD_FORBIDDEN for c in password)
    )
    if not valid:
        raise validation(
            "The admin user password must be 8 to 64 characters long and contain at least one uppercase "
            "letter, one lowercase letter and one number; it can't contain ', \", \\, /, @ or a space."
        )


def _generated_password() -> str:
    alphabet = string.ascii_letters + string.digits + "!#$%&()*+,-.:;<=>?[]^_{|}~"
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(32))
        if any(c.isupper() for c in password) and any(c.islower() for c in password) and any(c.isdigit() for c in password):
            return password


def _page(items: list[dict], body: dict, limit_member: str = "maxResults") -> tuple[list[dict], str | None]:
    limit = body.get(limit_member, 100)
    if not isinstance(limit, int) or not 1 <= limit <= 100:
        raise constraint(limit, limit_member, "Member must have value between 1 and 100")
    token = body.get("nextToken")
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except ValueError as error:
            raise validation("The nextToken is not valid") from error
    end = start + limit
    following = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], following


class RedshiftServerless(plane.JsonApiPlane):
    target_prefix = TARGET_PREFIX
    service_label = "RedshiftServerless"
    error_class = ApiError
    name = "redshift-serverless"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.state = serverless.state_for(ctx)
        self.registry = registry_for(ctx)
        self.actions = {
            "CreateNamespace": self.create_namespace,
            "GetNamespace": self.get_namespace,
            "ListNamespaces": self.list_namespaces,
            "UpdateNamespace": self.update_namespace,
            "DeleteNamespace": self.delete_namespace,
            "CreateWorkgroup": self.create_workgroup,
            "GetWorkgroup": self.get_workgroup,
            "ListWorkgroups": self.list_workgroups,
            "UpdateWorkgroup": self.update_workgroup,
            "DeleteWorkgroup": self.delete_workgroup,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags_for_resource,
        }

    def call(self, operation: Callable[[str, dict], dict], region: str, body: dict) -> dict:
        with self.state.lock:
            return operation(region, body)

    def stop(self) -> None:
        self.registry.close_all()

    # -- namespaces ----------------------------------------------------------------------------

    def _namespace(self, region: str, name: str) -> Namespace:
        namespace = self.state.namespaces(region).get(name)
        if namespace is None:
            raise ApiError("ResourceNotFoundException", f"Serverless namespace {name} not found.")
        return namespace

    def _secrets(self, region: str) -> Any:
        return self.ctx.backend("secretsmanager", region)

    def _create_admin_secret(self, region: str, namespace: str, username: str, password: str, kms_key_id: str | None) -> str:
        """The secret Redshift manages for the namespace's admin (``redshift!<namespace>-<user>``)."""
        backend = self._secrets(region)
        name = f"redshift!{namespace}-{username}"
        backend.create_secret(
            name=name,
            secret_string=json.dumps({"username": username, "password": password}),
            secret_binary=None,
            description=f"Admin user credentials for Redshift Serverless namespace {namespace}",
            tags=[],
            kms_key_id=kms_key_id,
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return backend.describe_secret(name).arn

    def _delete_admin_secret(self, region: str, arn: str) -> None:
        backend = self._secrets(region)
        if arn in backend.secrets:
            backend.delete_secret(arn, recovery_window_in_days=None, force_delete_without_recovery=True)

    def _admin_credentials(self, region: str, name: str, body: dict, current: Namespace | None) -> dict[str, Any]:
        """adminUsername, adminUserPassword and manageAdminPassword, checked as CreateNamespace and
        UpdateNamespace check them; returns the namespace fields to set."""
        manage = body.get("manageAdminPassword")
        password = body.get("adminUserPassword")
        username = body.get("adminUsername")
        kms_key = body.get("adminPasswordSecretKmsKeyId")
        if manage and password:
            raise validation("You can't use adminUserPassword if manageAdminPassword is true.")
        if kms_key and not manage:
            raise validation("You can only use adminPasswordSecretKmsKeyId if manageAdminPassword is true.")
        if (username is None) != (password is None) and not manage:
            raise validation("adminUsername and adminUserPassword must be given together.")
        if password is not None:
            _check_password(password)
        fields: dict[str, Any] = {}
        if manage:
            username = username or (current.admin_username if current else None) or DEFAULT_ADMIN_USERNAME
            if current and current.admin_password_secret_arn:
                self._delete_admin_secret(region, current.admin_password_secret_arn)
            password = _generated_password()
            fields["admin_password_secret_arn"] = self._create_admin_secret(region, name, username, password, kms_key)
            fields["admin_password_secret_kms_key_id"] = kms_key or "AWS_OWNED_KMS_KEY"
        elif password is not None:
            if current and current.admin_password_secret_arn:
                self._delete_admin_secret(region, current.admin_password_secret_arn)
            fields["admin_password_secret_arn"] = None
            fields["admin_password_secret_kms_key_id"] = None
        if username is not None:
            fields["admin_username"] = username
            fields["admin_password"] = password
        return fields

    def create_namespace(self, region: str, body: dict) -> dict:
        name = _name(body, "namespaceName")
        if name in self.state.namespaces(region):
            raise ApiError("ConflictException", f"Namespace {name} already exists.")
        db_name = body.get("dbName", "dev")
        if not isinstance(db_name, str) or not DATABASE_NAME.match(db_name):
            raise constraint(db_name, "dbName", "Member must be a valid database name (lower case letters, digits, _ and $)")
        log_exports = body.get("logExports", [])
        if any(entry not in LOG_EXPORTS for entry in log_exports):
            raise validation(f"logExports can only contain {', '.join(LOG_EXPORTS)}")
        tags = _tags(body.get("tags"))
        if len(tags) > MAX_TAGS:
            raise ApiError("TooManyTagsException", "The number of tags exceeds the limit of 200.", resourceName=name)
        fields = self._admin_credentials(region, name, body, None)
        namespace = Namespace(
            name=name,
            region=region,
            db_name=db_name,
            admin_username=fields.get("admin_username"),
            admin_password=fields.get("admin_password"),
            admin_password_secret_arn=fields.get("admin_password_secret_arn"),
            admin_password_secret_kms_key_id=fields.get("admin_password_secret_kms_key_id"),
            kms_key_id=body.get("kmsKeyId") or "AWS_OWNED_KMS_KEY",
            default_iam_role_arn=body.get("defaultIamRoleArn"),
            iam_roles=list(body.get("iamRoles", [])),
            log_exports=list(log_exports),
            tags=tags,
        )
        self.registry.open(namespace_key(region, name), namespace.id, region, db_name, namespace.admin_username)
        self.state.namespaces(region)[name] = namespace
        return {"namespace": namespace.describe()}

    def get_namespace(self, region: str, body: dict) -> dict:
        return {"namespace": self._namespace(region, _name(body, "namespaceName")).describe()}

    def list_namespaces(self, region: str, body: dict) -> dict:
        items = [ns.describe() for ns in sorted(self.state.namespaces(region).values(), key=lambda ns: ns.creation_date)]
        page, token = _page(items, body)
        return {"namespaces": page, **({"nextToken": token} if token else {})}

    def update_namespace(self, region: str, body: dict) -> dict:
        namespace = self._namespace(region, _name(body, "namespaceName"))
        if namespace.status != "AVAILABLE":
            raise ApiError("ConflictException", "There is an operation running on the namespace. Try again later.")
        for member in ("logDestinationType", "s3TableAction", "s3TableNames", "s3TableGranularity", "s3TableKmsKeyId"):
            if member in body:
                raise ApiError("NotImplemented", f"The local cloud does not emulate {member}", status=501)
        if "logExports" in body and any(entry not in LOG_EXPORTS for entry in body["logExports"]):
            raise validation(f"logExports can only contain {', '.join(LOG_EXPORTS)}")
        for field, value in self._admin_credentials(region, namespace.name, body, namespace).items():
            setattr(namespace, field, value)
        if "kmsKeyId" in body:
            namespace.kms_key_id = body["kmsKeyId"]
        if "defaultIamRoleArn" in body:
            namespace.default_iam_role_arn = body["defaultIamRoleArn"]
        if "iamRoles" in body:
            namespace.iam_roles = list(body["iamRoles"])
        if "logExports" in body:
            namespace.log_exports = list(body["logExports"])
        namespace.transition = Transition("MODIFYING", time.monotonic() + serverless.MODIFYING_SECONDS)
        return {"namespace": namespace.describe()}

    def delete_namespace(self, region: str, body: dict) -> dict:
        namespace = self._namespace(region, _name(body, "namespaceName"))
        if "finalSnapshotName" in body or "finalSnapshotRetentionPeriod" in body:
            raise ApiError("NotImplemented", "The local cloud does not emulate snapshots (finalSnapshotName)", status=501)
        if any(wg.namespace_name == namespace.name for wg in self.state.workgroups(region).values()):
            raise ApiError(
                "ConflictException",
                f"Namespace {namespace.name} has a workgroup. Delete the workgroup before the namespace.",
            )
        if namespace.status != "AVAILABLE":
            raise ApiError(
                "ConflictException", "There is an operation running on the namespace. Try deleting the namespace again later."
            )
        if namespace.admin_password_secret_arn:
            self._delete_admin_secret(region, namespace.admin_password_secret_arn)
        self.registry.drop(namespace_key(region, namespace.name))
        namespace.transition = Transition("DELETING", time.monotonic() + serverless.DELETING_SECONDS)
        return {"namespace": namespace.describe()}

    # -- workgroups ----------------------------------------------------------------------------

    def _workgroup(self, region: str, name: str) -> Workgroup:
        workgroup = self.state.workgroups(region).get(name)
        if workgroup is None:
            raise ApiError("ResourceNotFoundException", f"Serverless workgroup {name} not found.")
        return workgroup

    def _capacity(self, value: Any, member: str, region: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not serverless.base_capacity_allowed(value, region):
            up_to = 1024 if region in serverless.REGIONS_UP_TO_1024_RPUS else 512
            raise validation(
                f"{member} must be 4, a multiple of 8 from 8 to 512"
                + (", or a multiple of 32 from 512 to 1024" if up_to == 1024 else "")
                + f" Redshift Processing Units (RPUs); got {value}."
            )
        return value

    def _config_parameters(self, entries: Any, current: dict[str, str]) -> dict[str, str]:
        parameters = dict(current)
        for entry in entries or []:
            key, value = entry.get("parameterKey"), entry.get("parameterValue")
            if key not in serverless.DEFAULT_CONFIG_PARAMETERS and key not in serverless.QUERY_MONITORING_PARAMETERS:
                raise validation(f"Unknown configuration parameter: {key}")
            if not isinstance(value, str):
                raise validation(f"The value of configuration parameter {key} must be a string")
            parameters[key] = value
        return parameters

    def _port(self, value: Any) -> int:
        if not isinstance(value, int) or not serverless.port_allowed(value):
            raise validation(f"The port must be between 5431 and 5455 or between 8191 and 8215; got {value}.")
        return value

    def create_workgroup(self, region: str, body: dict) -> dict:
        name = _name(body, "workgroupName")
        namespace_name = _name(body, "namespaceName")
        if (body.get("pricePerformanceTarget") or {}).get("status") == "ENABLED":
            raise ApiError("NotImplemented", "The local cloud does not emulate AI-driven scaling (pricePerformanceTarget)", status=501)
        base = self._capacity(body.get("baseCapacity", serverless.DEFAULT_BASE_CAPACITY), "baseCapacity", region)
        maximum = body.get("maxCapacity")
        if maximum is not None:
            self._capacity(maximum, "maxCapacity", region)
            if maximum < base:
                raise validation("maxCapacity must be greater than or equal to baseCapacity.")
        ip_address_type = body.get("ipAddressType", "ipv4")
        if ip_address_type not in ("ipv4", "dualstack"):
            raise constraint(ip_address_type, "ipAddressType", "Member must satisfy regular expression pattern: ^(ipv4|dualstack)$")
        port = self._port(body.get("port", serverless.DEFAULT_PORT))
        config_parameters = self._config_parameters(body.get("configParameters"), serverless.DEFAULT_CONFIG_PARAMETERS)
        tags = _tags(body.get("tags"))
        if len(tags) > MAX_TAGS:
            raise ApiError("TooManyTagsException", "The number of tags exceeds the limit of 200.", resourceName=name)
        namespace = self._namespace(region, namespace_name)
        workgroups = self.state.workgroups(region)
        if name in workgroups:
            raise ApiError("ConflictException", f"Workgroup {name} already exists.")
        paired = next((wg for wg in workgroups.values() if wg.namespace_name == namespace.name), None)
        if paired is not None:
            raise ApiError("ConflictException", f"Namespace {namespace.name} is already associated with workgroup {paired.name}.")
        workgroup = Workgroup(
            name=name,
            region=region,
            namespace_name=namespace.name,
            base_capacity=base,
            max_capacity=maximum,
            config_parameters=config_parameters,
            enhanced_vpc_routing=bool(body.get("enhancedVpcRouting", False)),
            publicly_accessible=bool(body.get("publiclyAccessible", False)),
            port=port,
            security_group_ids=list(body.get("securityGroupIds", [])),
            subnet_ids=list(body.get("subnetIds", [])),
            ip_address_type=ip_address_type,
            tags=tags,
        )
        workgroups[name] = workgroup
        return {"workgroup": workgroup.describe()}

    def get_workgroup(self, region: str, body: dict) -> dict:
        return {"workgroup": self._workgroup(region, _name(body, "workgroupName")).describe()}

    def list_workgroups(self, region: str, body: dict) -> dict:
        items = [wg.describe() for wg in sorted(self.state.workgroups(region).values(), key=lambda wg: wg.creation_date)]
        page, token = _page(items, body)
        return {"workgroups": page, **({"nextToken": token} if token else {})}

    def update_workgroup(self, region: str, body: dict) -> dict:
        workgroup = self._workgroup(region, _name(body, "workgroupName"))
        changes = [member for member in WORKGROUP_UPDATABLE if member in body]
        if len(changes) > 1:
            raise validation(f"Can't update multiple configurations at the same time for workgroup {workgroup.name}: {', '.join(changes)}.")
        for member in ("pricePerformanceTarget", "trackName", "extraComputeForAutomaticOptimization"):
            if member in body:
                raise ApiError("NotImplemented", f"The local cloud does not emulate updating {member}", status=501)
        if workgroup.status != "AVAILABLE":
            raise ApiError("ConflictException", "There is an operation running on the workgroup. Try again later.")
        if "baseCapacity" in body:
            base = self._capacity(body["baseCapacity"], "baseCapacity", region)
            if workgroup.max_capacity is not None and base > workgroup.max_capacity:
                raise validation("baseCapacity can't be greater than maxCapacity.")
            workgroup.base_capacity = base
        if "maxCapacity" in body:
            maximum = body["maxCapacity"]
            if maximum == -1:  # removes the limit
                workgroup.max_capacity = None
            else:
                self._capacity(maximum, "maxCapacity", region)
                if maximum < workgroup.base_capacity:
                    raise validation("maxCapacity must be greater than or equal to baseCapacity.")
                workgroup.max_capacity = maximum
        if "configParameters" in body:
            workgroup.config_parameters = self._config_parameters(body["configParameters"], workgroup.config_parameters)
        if "port" in body:
            workgroup.port = self._port(body["port"])
        if "enhancedVpcRouting" in body:
            workgroup.enhanced_vpc_routing = bool(body["enhancedVpcRouting"])
        if "publiclyAccessible" in body:
            workgroup.publicly_accessible = bool(body["publiclyAccessible"])
        if "securityGroupIds" in body:
            workgroup.security_group_ids = list(body["securityGroupIds"])
        if "subnetIds" in body:
            workgroup.subnet_ids = list(body["subnetIds"])
        if "ipAddressType" in body:
            if body["ipAddressType"] not in ("ipv4", "dualstack"):
                raise constraint(body["ipAddressType"], "ipAddressType", "Member must satisfy regular expression pattern: ^(ipv4|dualstack)$")
            workgroup.ip_address_type = body["ipAddressType"]
        workgroup.transition = Transition("MODIFYING", time.monotonic() + serverless.MODIFYING_SECONDS)
        return {"workgroup": workgroup.describe()}

    def delete_workgroup(self, region: str, body: dict) -> dict:
        workgroup = self._workgroup(region, _name(body, "workgroupName"))
        if workgroup.status != "AVAILABLE":
            raise ApiError(
                "ConflictException", "There is an operation running on the workgroup. Try deleting the workgroup again later."
            )
        workgroup.transition = Transition("DELETING", time.monotonic() + serverless.DELETING_SECONDS)
        return {"workgroup": workgroup.describe()}

    # -- tags ----------------------------------------------------------------------------------

    def _resource(self, region: str, body: dict) -> Namespace | Workgroup:
        arn = body.get("resourceArn")
        if not isinstance(arn, str) or not arn:
            raise validation("resourceArn is required")
        resource = self.state.by_arn(region, arn)
        if resource is None:
            raise ApiError("ResourceNotFoundException", f"Resource {arn} not found.", resourceName=arn)
        return resource

    def tag_resource(self, region: str, body: dict) -> dict:
        resource = self._resource(region, body)
        tags = {**resource.tags, **_tags(body.get("tags"))}
        if len(tags) > MAX_TAGS:
            raise ApiError("TooManyTagsException", "The number of tags exceeds the limit of 200.", resourceName=resource.arn)
        resource.tags = tags
        return {}

    def untag_resource(self, region: str, body: dict) -> dict:
        resource = self._resource(region, body)
        for key in body.get("tagKeys", []):
            resource.tags.pop(key, None)
        return {}

    def list_tags_for_resource(self, region: str, body: dict) -> dict:
        resource = self._resource(region, body)
        return {"tags": [{"key": k, "value": v} for k, v in resource.tags.items()]}
