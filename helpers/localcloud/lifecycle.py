"""Start, find and stop the local cloud server.

``up`` starts the server as a background process and returns once it answers its health check;
it records the process in ``<state dir>/server.json`` so that a second ``up`` reuses it and
``down`` stops only the process ``up`` started. The server's log is ``<state dir>/localcloud.log``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from helpers import config
from helpers.localcloud.planes.health import HEALTH_PATH

START_TIMEOUT_S = 60


class LocalCloudError(RuntimeError):
    """The local cloud cannot be started, found or stopped; the message says what to do."""


@dataclass
class Status:
    running: bool
    endpoint: str
    pid: int | None = None
    health: dict | None = None
    started_now: bool = False
    seconds_to_healthy: float | None = None

    def describe(self) -> str:
        if not self.running:
            return f"local cloud: not running (it would listen on {self.endpoint})"
        how = f"started in {self.seconds_to_healthy:.2f} s" if self.started_now else "already running, reused"
        planes = ", ".join((self.health or {}).get("planes", []))
        return f"local cloud: healthy at {self.endpoint} (pid {self.pid}, {how}; data planes: {planes})"


def _record_path(s: config.Settings) -> Path:
    return s.state_dir / "server.json"


def log_path(s: config.Settings | None = None) -> Path:
    return (s or config.settings()).state_dir / "localcloud.log"


def _health(endpoint: str, timeout: float = 1.0) -> dict | None:
    try:
        with urllib.request.urlopen(endpoint + HEALTH_PATH, timeout=timeout) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_record(s: config.Settings) -> dict | None:
    try:
        return json.loads(_record_path(s).read_text())
    except (FileNotFoundError, ValueError):
        return None


def free_port() -> int:
    """A TCP port nobody listens on now: for a local cloud of a test's or a benchmark's own."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def status(s: config.Settings | None = None) -> Status:
    s = s or config.settings()
    record = _read_record(s)
    if record and record.get("endpoint") == s.local_endpoint and _pid_alive(record["pid"]):
        health = _health(s.local_endpoint)
        if health and health.get("pid") == record["pid"]:
            return Status(True, s.local_endpoint, record["pid"], health)
    return Status(False, s.local_endpoint)


def up(s: config.Settings | None = None) -> Status:
    """Start the local cloud, or reuse the one already running for these settings."""
    s = s or config.settings()
    current = status(s)
    if current.running:
        return current
    if _port_in_use(s.local_host, s.local_port):
        raise LocalCloudError(
            f"Port {s.local_port} on {s.local_host} is already in use by another program, so the local "
            f"cloud cannot start there. Stop that program, or choose another port with "
            f"WORKBOOK_LOCAL_PORT=<port> (in the environment or in .env)."
        )
    s.state_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log_path(s), "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "helpers.localcloud.server",
             "--host", s.local_host, "--port", str(s.local_port), "--state-dir", str(s.state_dir)],
            cwd=config.REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # survives the notebook kernel or shell that started it
            env={**os.environ, "PYTHONPATH": str(config.REPO_ROOT)},
        )
    while time.perf_counter() - started < START_TIMEOUT_S:
        if process.poll() is not None:
            raise LocalCloudError(
                f"The local cloud exited during start-up (code {process.returncode}). "
                f"Its log says why: {log_path(s)}"
            )
        health = _health(s.local_endpoint, timeout=0.5)
        if health and health.get("pid") == process.pid:
            elapsed = time.perf_counter() - started
            _record_path(s).write_text(
                json.dumps({"pid": process.pid, "endpoint": s.local_endpoint, "started": time.time()})
            )
            return Status(True, s.local_endpoint, process.pid, health, started_now=True, seconds_to_healthy=elapsed)
        time.sleep(0.05)
    process.terminate()
    raise LocalCloudError(f"The local cloud did not become healthy within {START_TIMEOUT_S} s; see {log_path(s)}")


def down(s: config.Settings | None = None) -> bool:
    """Stop the local cloud that ``up`` started. Returns False if there was none."""
    s = s or config.settings()
    record = _read_record(s)
    if not record:
        return False
    pid = record["pid"]
    stopped = False
    if _pid_alive(pid) and _is_our_server(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 10
        while _pid_alive(pid) and time.time() < deadline:
            _reap(pid)
            time.sleep(0.05)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        stopped = True
    _record_path(s).unlink(missing_ok=True)
    return stopped


def _is_our_server(pid: int) -> bool:
    """Never signal a process that merely reused a recorded pid."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # no /proc (macOS): trust the record, whose health check named this pid
        return True
    return b"helpers.localcloud.server" in cmdline


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
