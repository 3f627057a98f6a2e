"""DynamoDB in a process of its own: the local cloud's second core.

Not an AWS behaviour: how the local cloud spreads its work. Everything else the local cloud serves
runs in one Python process, and one process runs Python on one core at a time. At full scale the
stream's DynamoDB consumer alone kept that process busy (``docs/benchmarks.md``), while the second
core waited. So the server starts a second moto server, in a child process, for DynamoDB only:

- this plane forwards every DynamoDB request sent to the local cloud's endpoint there, unchanged,
  and returns its answer unchanged: notebooks and tests see one endpoint, as before;
- code the local cloud runs itself (Lambda handlers) is given ``AWS_ENDPOINT_URL_DYNAMODB``
  (boto3's service-specific endpoint setting) and calls the child directly, as a function on AWS
  calls DynamoDB's own endpoint: the stream's consumers cost the main process nothing.

The child is the same moto, with the same fast paths (``moto_fast_paths``), so every answer is the
one moto gives in the main process. It dies with the server: ``stop()`` ends it, and if the server
is killed the child sees its parent gone and exits. One thing differs: moto's Resource Groups
Tagging API (served by the main process) does not see the child's tables, so GetResources lists
no DynamoDB table; ``ListTagsOfResource`` on a table is served as before.

    python -m helpers.localcloud.planes.dynamodb_process PARENT_PID   # the child; prints its port
"""

from __future__ import annotations

import http.client
import logging
import os
import queue
import subprocess
import sys
import threading
import time

from werkzeug.wrappers import Request, Response

from helpers.localcloud.plane import Context, DataPlane, amz_target, json_error

log = logging.getLogger("localcloud.dynamodb")

TARGET_PREFIXES = ("DynamoDB_20120810.", "DynamoDBStreams_20120810.")
START_TIMEOUT_S = 60.0  # importing moto takes about a second; a busy machine is slower
REQUEST_TIMEOUT_S = 300.0
OWN_HEADERS = {"date", "server"}  # the child's HTTP server's; this server adds its own
WAITRESS_THREADS = 8  # Python runs one at a time; enough for requests to queue rather than connections
CONNECTION_LIMIT = 500  # every Lambda worker's boto3 pool may keep up to 10 connections open
IDLE_CONNECTION_TIMEOUT_S = 60  # an idle kept-alive connection is closed; clients reconnect
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"}


class DynamoDBProcess(DataPlane):
    name = "dynamodb-process"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        log_path = ctx.state_dir / "dynamodb-process.log"
        self._log = open(log_path, "ab")  # noqa: SIM115 - the child writes to it while it runs
        self._child = subprocess.Popen(  # started now: it imports moto while the server does
            [sys.executable, "-m", __name__, str(os.getpid())],
            stdout=subprocess.PIPE,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
        )
        self._port: int | None = None
        self._connections: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue()

    def start(self) -> None:
        """Wait for the child's port, so that the server answers health checks only once it can
        serve DynamoDB; then tell code the local cloud starts where DynamoDB is."""
        port_line: list[bytes] = []
        reader = threading.Thread(target=lambda: port_line.append(self._child.stdout.readline()), daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_S)
        if not port_line or not port_line[0].strip().isdigit():
            self._child.kill()
            raise RuntimeError(f"the DynamoDB process did not start; see {self.ctx.state_dir / 'dynamodb-process.log'}")
        self._port = int(port_line[0])
        self.ctx.service_endpoints["dynamodb"] = f"http://127.0.0.1:{self._port}"

    def stop(self) -> None:
        self._child.terminate()
        try:
            self._child.wait(5)
        except subprocess.TimeoutExpired:
            self._child.kill()
        self._log.close()

    def handles(self, request: Request) -> bool:
        return amz_target(request).startswith(TARGET_PREFIXES)

    def handle(self, request: Request) -> Response:
        headers = {name: value for name, value in request.headers.items() if name.lower() not in HOP_BY_HOP}
        body = request.get_data()
        for attempt in (1, 2):  # a pooled connection the child closed meanwhile is retried once
            connection = self._connection()
            try:
                connection.request(request.method, request.full_path.rstrip("?"), body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                connection.close()
                if attempt == 2 or self._child.poll() is not None:
                    log.exception("DynamoDB process unreachable")
                    return json_error(500, "InternalFailure", "the local cloud's DynamoDB process is not running; restart the local cloud")
                continue
            if answer.will_close:
                connection.close()
            else:
                self._connections.put(connection)
            kept = [(name, value) for name, value in answer.getheaders() if name.lower() not in HOP_BY_HOP | OWN_HEADERS]
            return Response(data, status=answer.status, headers=[*kept, ("server", "amazon.com")])  # as moto's
        raise AssertionError("unreachable")

    def _connection(self) -> http.client.HTTPConnection:
        try:
            return self._connections.get_nowait()
        except queue.Empty:
            return http.client.HTTPConnection("127.0.0.1", self._port, timeout=REQUEST_TIMEOUT_S)


def _exit_with_parent(parent_pid: int) -> None:
    """End this process when the server that started it is gone, even if it was SIGKILLed."""
    try:  # Linux: the kernel sends SIGTERM when the parent dies
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch() -> None:  # elsewhere, and if the parent died before prctl: reparented
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str]) -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from waitress.server import create_server

    from helpers.localcloud import heap
    from helpers.localcloud.planes import dynamodb_rules, moto_fast_paths

    _exit_with_parent(int(argv[0]))
    moto_fast_paths.install()
    dynamodb_rules.install()
    heap.collect_less_often()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # requests waiting for a thread: normal here
    # waitress, not werkzeug's development server: it keeps connections open between requests
    # (HTTP/1.1 keep-alive), where werkzeug closes each one, so a Lambda handler's boto3 client
    # does not connect again for every write (measured: DynamoDB consumer 12-15 % faster).
    server = create_server(
        DomainDispatcherApplication(create_backend_app),
        host="127.0.0.1",
        port=0,
        threads=WAITRESS_THREADS,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=IDLE_CONNECTION_TIMEOUT_S,
    )
    print(server.effective_port, flush=True)
    server.run()


if __name__ == "__main__":
    main(sys.argv[1:])
