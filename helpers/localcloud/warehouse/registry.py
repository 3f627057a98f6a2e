"""The open warehouses of the local cloud, one per Redshift Serverless namespace or provisioned cluster.

Files live under ``<state dir>/redshift/<region>/namespaces/<namespace>/`` and
``<state dir>/redshift/<region>/clusters/<cluster id>/``. A warehouse is opened when its namespace is
created (or, for a cluster that moto serves, on its first Data API call), and closed with its files
removed when the namespace is deleted, as the namespace's data goes with it on AWS.
"""

from __future__ import annotations

import threading

from helpers.localcloud.plane import Context
from helpers.localcloud.warehouse.engine import Warehouse


class WarehouseRegistry:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.root = ctx.state_dir / "redshift"
        self._open: dict[str, Warehouse] = {}
        self._lock = threading.Lock()

    def open(self, key: str, owner: str, region: str, default_database: str, admin_user: str | None) -> Warehouse:
        """The warehouse at ``key`` (e.g. ``us-east-1/namespaces/aws-project``), opened for ``owner``
        (a namespace or cluster identity: files of an earlier owner are discarded)."""
        with self._lock:
            warehouse = self._open.get(key)
            if warehouse is not None and warehouse.owner == owner:
                return warehouse
            if warehouse is not None:
                warehouse.close()
            warehouse = Warehouse(self.root / key, owner, default_database, admin_user, self.ctx, region)
            self._open[key] = warehouse
            return warehouse

    def get(self, key: str) -> Warehouse | None:
        with self._lock:
            return self._open.get(key)

    def drop(self, key: str) -> None:
        """Close the warehouse and delete its files."""
        with self._lock:
            warehouse = self._open.pop(key, None)
        if warehouse is not None:
            warehouse.close(delete_files=True)

    def close_all(self) -> None:
        with self._lock:
            warehouses, self._open = list(self._open.values()), {}
        for warehouse in warehouses:
            warehouse.close()


def namespace_key(region: str, namespace: str) -> str:
    return f"{region}/namespaces/{namespace}"


def cluster_key(region: str, cluster_id: str) -> str:
    return f"{region}/clusters/{cluster_id}"


_registries: dict[str, WarehouseRegistry] = {}
_registries_lock = threading.Lock()


def registry_for(ctx: Context) -> WarehouseRegistry:
    """The warehouses of the local cloud that ``ctx`` describes (one registry per server)."""
    with _registries_lock:
        return _registries.setdefault(str(ctx.state_dir), WarehouseRegistry(ctx))
