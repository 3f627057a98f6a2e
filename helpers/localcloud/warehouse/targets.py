"""Where a statement runs: the warehouse of a Serverless workgroup or of a provisioned cluster.

The Data API and Firehose's COPY both address the warehouse this way. Why a workgroup or cluster
cannot take statements is answered by each caller, in its own API's error wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from helpers.localcloud.plane import DEFAULT_ACCOUNT_ID
from helpers.localcloud.warehouse.engine import Warehouse
from helpers.localcloud.warehouse.registry import cluster_key
from helpers.localcloud.warehouse.serverless import Namespace, Workgroup

# Workgroup configuration parameters that become session settings.
SESSION_PARAMETERS = ("search_path", "enable_case_sensitive_identifier", "datestyle", "query_group")


@dataclass(frozen=True)
class Target:
    """A workgroup or cluster that statements can run on."""

    warehouse: Warehouse
    arn: str
    base_capacity: Callable[[], int | None]
    session_parameters: Callable[[], dict[str, str]]
    admin_user: str | None
    admin_password: str | None
    default_database: str


def workgroup_target(workgroup: Workgroup, namespace: Namespace, warehouse: Warehouse) -> Target:
    # Read the workgroup at each statement, so that an UpdateWorkgroup applies to the next one.
    return Target(
        warehouse=warehouse,
        arn=workgroup.arn,
        base_capacity=lambda: workgroup.base_capacity,
        session_parameters=lambda: {
            key: workgroup.config_parameters[key] for key in SESSION_PARAMETERS if key in workgroup.config_parameters
        },
        admin_user=namespace.admin_username,
        admin_password=namespace.admin_password,
        default_database=namespace.db_name,
    )


def cluster_target(registry: Any, region: str, cluster: Any) -> Target:
    """A moto-served provisioned cluster; its warehouse files belong to this cluster's creation."""
    owner = f"{cluster.cluster_identifier}-{cluster.create_time}"
    key = cluster_key(region, cluster.cluster_identifier)
    warehouse = registry.open(key, owner, region, cluster.db_name, cluster.master_username)
    return Target(
        warehouse=warehouse,
        arn=f"arn:aws:redshift:{region}:{DEFAULT_ACCOUNT_ID}:cluster:{cluster.cluster_identifier}",
        base_capacity=lambda: None,
        session_parameters=dict,
        admin_user=cluster.master_username,
        admin_password=cluster.master_user_password,
        default_database=cluster.db_name,
    )
