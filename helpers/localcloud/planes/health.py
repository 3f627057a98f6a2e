"""``GET /_localcloud/health``: how ``up`` knows the server is ready, and what ``status`` shows."""

from __future__ import annotations

import json
import os
import time

from werkzeug.wrappers import Request, Response

from helpers.localcloud.plane import DataPlane

HEALTH_PATH = "/_localcloud/health"


class Health(DataPlane):
    name = "health"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.started = time.time()

    def handles(self, request: Request) -> bool:
        return request.path == HEALTH_PATH

    def handle(self, request: Request) -> Response:
        from importlib.metadata import version

        from helpers.localcloud.planes import plane_classes

        body = {
            "status": "healthy",
            "pid": os.getpid(),
            "endpoint": self.ctx.endpoint_url,
            "state_dir": str(self.ctx.state_dir),
            "uptime_seconds": round(time.time() - self.started, 1),
            "moto": version("moto"),
            "planes": [cls.name for cls in plane_classes()],
            "service_endpoints": dict(self.ctx.service_endpoints),  # services in a process of their own
        }
        return Response(json.dumps(body), content_type="application/json")
