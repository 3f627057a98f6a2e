"""Redshift Serverless namespaces and workgroups: the control plane's state and its rules.

Held in memory, per account and region, shared by the ``redshift_serverless`` plane (which answers
the API) and the ``redshift_data`` plane (which runs SQL on a workgroup). A namespace owns the data
(its warehouse files, see ``engine``), a workgroup the compute (base RPUs, endpoint); AWS pairs
them one to one.

Status transitions are time based, so that a client polling GetWorkgroup sees what it sees on AWS,
only faster: a new workgroup is CREATING for ``CREATING_SECONDS`` then AVAILABLE; an update makes
it MODIFYING for ``MODIFYING_SECONDS``; a delete shows DELETING for ``DELETING_SECONDS``, then
the workgroup is gone. Namespaces are AVAILABLE on creation (as CreateNamespace answers on AWS),
MODIFYING briefly after UpdateNamespace and DELETING before they disappear.
https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/API_Workgroup.html
https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/API_Namespace.html
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from helpers.localcloud.plane import DEFAULT_ACCOUNT_ID, Context

CREATING_SECONDS = 1.0
MODIFYING_SECONDS = 0.5
DELETING_SECONDS = 1.0
DEFAULT_PORT = 5439
# "Compute capacity for Amazon Redshift Serverless": the default base capacity is 128 RPUs.
DEFAULT_BASE_CAPACITY = 128
# Regions offering base capacities from 512 up to 1024 RPUs (in steps of 32).
REGIONS_UP_TO_1024_RPUS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1")
# The configParameters AWS returns for a new workgroup, with their defaults.
DEFAULT_CONFIG_PARAMETERS = {
    "auto_mv": "true",
    "datestyle": "ISO, MDY",
    "enable_case_sensitive_identifier": "false",
    "enable_user_activity_logging": "true",
    "query_group": "default",
    "search_path": "$user, public",
    "max_query_execution_time": "14400",
    "require_ssl": "false",
    "use_fips_ssl": "false",
}
# Query monitoring limits a workgroup also accepts as configParameters.
QUERY_MONITORING_PARAMETERS = (
    "max_scan_row_count",
    "max_query_cpu_time",
    "max_query_blocks_read",
    "max_join_row_count",
    "max_nested_loop_join_row_count",
    "max_query_queue_time",
    "max_query_cpu_usage_percent",
    "max_query_temp_blocks_to_disk",
    "max_return_row_count",
    "max_io_skew",
    "max_cpu_skew",
)


def base_capacity_allowed(capacity: int, region: str) -> bool:
    """4 RPUs, multiples of 8 from 8 to 512, and multiples of 32 up to 1024 where offered."""
    if capacity == 4 or (8 <= capacity <= 512 and capacity % 8 == 0):
        return True
    return region in REGIONS_UP_TO_1024_RPUS and 512 < capacity <= 1024 and capacity % 32 == 0


def port_allowed(port: int) -> bool:
    # Workgroup ports: 5431-5455 or 8191-8215.
    return 5431 <= port <= 5455 or 8191 <= port <= 8215


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Transition:
    """A transient status shown until a monotonic deadline."""

    status: str
    until: float

    def active(self) -> bool:
        return time.monotonic() < self.until


class Transitioning:
    """Status for a resource whose ``transition`` (CREATING, MODIFYING, DELETING) ends at a deadline."""

    transition: Transition | None

    @property
    def status(self) -> str:
        return self.transition.status if self.transition and self.transition.active() else "AVAILABLE"

    @property
    def gone(self) -> bool:
        return self.transition is not None and self.transition.status == "DELETING" and not self.transition.active()


@dataclass
class Namespace(Transitioning):
    name: str
    region: str
    db_name: str
    admin_username: str | None
    admin_password: str | None  # kept to answer for the admin; never returned by the API
    admin_password_secret_arn: str | None
    admin_password_secret_kms_key_id: str | None
    kms_key_id: str
    default_iam_role_arn: str | None
    iam_roles: list[str]
    log_exports: list[str]
    tags: dict[str, str]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    creation_date: dt.datetime = field(default_factory=_now)
    transition: Transition | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:redshift-serverless:{self.region}:{DEFAULT_ACCOUNT_ID}:namespace/{self.id}"

    def describe(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "namespaceArn": self.arn,
            "namespaceId": self.id,
            "namespaceName": self.name,
            "dbName": self.db_name,
            "kmsKeyId": self.kms_key_id,
            "iamRoles": list(self.iam_roles),
            "logExports": list(self.log_exports),
            "status": self.status,
            "creationDate": self.creation_date.isoformat().replace("+00:00", "Z"),
        }
        optional = {
            "adminUsername": self.admin_username,
            "adminPasswordSecretArn": self.admin_password_secret_arn,
            "adminPasswordSecretKmsKeyId": self.admin_password_secret_kms_key_id,
            "defaultIamRoleArn": self.default_iam_role_arn,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        return body


@dataclass
class Workgroup(Transitioning):
    name: str
    region: str
    namespace_name: str
    base_capacity: int
    max_capacity: int | None
    config_parameters: dict[str, str]
    enhanced_vpc_routing: bool
    publicly_accessible: bool
    port: int
    security_group_ids: list[str]
    subnet_ids: list[str]
    ip_address_type: str
    tags: dict[str, str]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    creation_date: dt.datetime = field(default_factory=_now)
    transition: Transition | None = None

    def __post_init__(self) -> None:
        if self.transition is None:
            self.transition = Transition("CREATING", time.monotonic() + CREATING_SECONDS)

    @property
    def arn(self) -> str:
        return f"arn:aws:redshift-serverless:{self.region}:{DEFAULT_ACCOUNT_ID}:workgroup/{self.id}"

    @property
    def address(self) -> str:
        return f"{self.name}.{DEFAULT_ACCOUNT_ID}.{self.region}.redshift-serverless.amazonaws.com"

    def describe(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "workgroupArn": self.arn,
            "workgroupId": self.id,
            "workgroupName": self.name,
            "namespaceName": self.namespace_name,
            "baseCapacity": self.base_capacity,
            "configParameters": [{"parameterKey": k, "parameterValue": v} for k, v in self.config_parameters.items()],
            "enhancedVpcRouting": self.enhanced_vpc_routing,
            "publiclyAccessible": self.publicly_accessible,
            "port": self.port,
            "securityGroupIds": list(self.security_group_ids),
            "subnetIds": list(self.subnet_ids),
            "ipAddressType": self.ip_address_type,
            "status": self.status,
            "creationDate": self.creation_date.isoformat().replace("+00:00", "Z"),
            "endpoint": {"address": self.address, "port": self.port, "vpcEndpoints": []},
            "trackName": "current",
        }
        if self.max_capacity is not None:
            body["maxCapacity"] = self.max_capacity
        return body


class ServerlessState:
    """Namespaces and workgroups by region (one account), safe to use from several threads."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._namespaces: dict[str, dict[str, Namespace]] = {}
        self._workgroups: dict[str, dict[str, Workgroup]] = {}

    def namespaces(self, region: str) -> dict[str, Namespace]:
        with self.lock:
            found = self._namespaces.setdefault(region, {})
            for name in [n for n, ns in found.items() if ns.gone]:
                del found[name]
            return found

    def workgroups(self, region: str) -> dict[str, Workgroup]:
        with self.lock:
            found = self._workgroups.setdefault(region, {})
            for name in [n for n, wg in found.items() if wg.gone]:
                del found[name]
            return found

    def workgroup(self, region: str, name_or_arn: str) -> Workgroup | None:
        """A workgroup by name or ARN (the Data API accepts both)."""
        with self.lock:
            for workgroup in self.workgroups(region).values():
                if name_or_arn in (workgroup.name, workgroup.arn):
                    return workgroup
            return None

    def by_arn(self, region: str, arn: str) -> Namespace | Workgroup | None:
        with self.lock:
            for resource in [*self.namespaces(region).values(), *self.workgroups(region).values()]:
                if resource.arn == arn:
                    return resource
            return None


_states: dict[str, ServerlessState] = {}
_states_lock = threading.Lock()


def state_for(ctx: Context) -> ServerlessState:
    """The serverless state of the local cloud that ``ctx`` describes (one per server)."""
    with _states_lock:
        return _states.setdefault(str(ctx.state_dir), ServerlessState())
