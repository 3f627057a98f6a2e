"""The data planes, in the order the server offers them each request.

Each module holds one emulated AWS behaviour (see ``helpers.localcloud.plane``). To add one, write
its module and add its class here.
"""

from __future__ import annotations

from helpers.localcloud.plane import Context, DataPlane


def plane_classes() -> list[type[DataPlane]]:
    from helpers.localcloud.planes.health import Health

    return [Health]


def load_planes(ctx: Context) -> list[DataPlane]:
    return [cls(ctx) for cls in plane_classes()]
