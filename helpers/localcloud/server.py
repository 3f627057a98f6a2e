"""The local cloud's one endpoint: the data planes in front of moto's server.

Run by ``python -m helpers.localcloud up`` in the background; ``python -m helpers.localcloud.server``
runs it in the foreground (useful for debugging a plane).
"""

from __future__ import annotations

import argparse
import io
import logging
import signal
import sys
import threading
from pathlib import Path

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server
from werkzeug.wrappers import Request

from helpers.localcloud import heap
from helpers.localcloud.plane import Context, DataPlane
from helpers.localcloud.planes import load_planes

log = logging.getLogger("localcloud")


class LocalCloudApp:
    """WSGI app: each request goes to the first data plane that claims it, else to moto."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.planes: list[DataPlane] = load_planes(ctx)

    def __call__(self, environ, start_response):
        # Read the body once and rewind it, so that moto can still read it after a plane looked.
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        request = Request(environ)
        for plane in self.planes:
            if plane.handles(request):
                environ["wsgi.input"] = io.BytesIO(body)
                try:
                    response = plane.handle(Request(environ))
                except Exception:  # a bug in a plane is a 500, as a service fault is on AWS
                    log.exception("data plane %s failed on %s %s", plane.name, request.method, request.path)
                    from helpers.localcloud.plane import json_error

                    response = json_error(500, "InternalFailure", f"local cloud plane {plane.name} failed; see its log")
                return response(environ, start_response)
        environ["wsgi.input"] = io.BytesIO(body)
        return self.moto(environ, start_response)

    def start(self) -> None:
        for plane in self.planes:
            plane.start()

    def stop(self) -> None:
        for plane in reversed(self.planes):
            try:
                plane.stop()
            except Exception:
                log.exception("stopping plane %s", plane.name)


def serve(host: str, port: int, state_dir: Path) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    heap.collect_less_often()
    ctx = Context(endpoint_url=f"http://{host}:{port}", state_dir=state_dir)
    app = LocalCloudApp(ctx)
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    app.start()
    log.info("local cloud listening on %s with planes: %s", ctx.endpoint_url, ", ".join(p.name for p in app.planes))

    def shutdown(signum, frame):
        log.info("signal %s: stopping", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    try:
        server.serve_forever()
    finally:
        app.stop()
        log.info("stopped")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    serve(args.host, args.port, args.state_dir.resolve())


if __name__ == "__main__":
    main()
