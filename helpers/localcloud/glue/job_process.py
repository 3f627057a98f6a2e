"""Running a job script in its own process: output to CloudWatch Logs, timeout, stop.

The script runs with the local cloud's Python (the workbook's virtualenv, which has boto3, pandas
and awswrangler, as Glue's Python shell "analytics" library set does,
https://docs.aws.amazon.com/glue/latest/dg/add-job-python.html), in a fresh working directory, in
its own process group. Its standard output goes to the ``<log group>/output`` stream named after
the run and its standard error to ``<log group>/error``, as Python shell jobs log
(https://docs.aws.amazon.com/glue/latest/dg/console-jobs.html), a batch every half second.

The run's ``ErrorMessage`` when the script fails is the last line of its traceback
(``ValueError: no rows``, ``IndentationError: unexpected indent``), or ``Command failed with exit
code N`` when it exits non-zero without one.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable

FLUSH_INTERVAL_S = 0.5
KILL_GRACE_S = 2.0
ERROR_TAIL_LINES = 200


@dataclass(frozen=True)
class Outcome:
    state: str  # SUCCEEDED, FAILED, TIMEOUT or STOPPED
    error_message: str | None = None


EXCEPTION_LINE = re.compile(r"[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)(: .*)?")


def error_message(stderr_tail: list[str], exit_code: int) -> str:
    """The traceback's last line (a SyntaxError has no "Traceback" header, only that line)."""
    lines = [line.strip() for line in stderr_tail if line.strip()]
    traceback = any(line.startswith("Traceback (most recent call last):") for line in lines)
    if lines and (traceback or EXCEPTION_LINE.fullmatch(lines[-1])):
        return lines[-1]
    return f"Command failed with exit code {exit_code}"


class _Pipe:
    """Lines read from one of the process's pipes, waiting to be written to their log stream."""

    def __init__(self, stream: IO[bytes], write: Callable[[list[str]], None], keep_tail: bool) -> None:
        self._stream, self._write = stream, write
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self.tail: collections.deque[str] = collections.deque(maxlen=ERROR_TAIL_LINES if keep_tail else 0)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for raw in iter(self._stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            with self._lock:
                self._pending.append(line)
            self.tail.append(line)

    def flush(self) -> None:
        with self._lock:
            lines, self._pending = self._pending, []
        lines = [line for line in lines if line.strip()]
        if lines:
            self._write(lines)

    def finish(self) -> None:
        self._thread.join(timeout=5)
        self.flush()


def run_script(
    script: Path,
    argv: list[str],
    env: dict[str, str],
    timeout_s: float,
    timeout_minutes: int,
    stop_requested: threading.Event,
    write_output: Callable[[list[str]], None],
    write_error: Callable[[list[str]], None],
) -> Outcome:
    process = subprocess.Popen(
        [sys.executable, "-u", str(script), *argv],
        cwd=script.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: stopping the run stops its children too
    )
    assert process.stdout is not None and process.stderr is not None
    output = _Pipe(process.stdout, write_output, keep_tail=False)
    errors = _Pipe(process.stderr, write_error, keep_tail=True)
    deadline = time.monotonic() + timeout_s
    ended_by: str | None = None
    next_flush = time.monotonic() + FLUSH_INTERVAL_S
    while process.poll() is None:
        if stop_requested.is_set():
            ended_by = "STOPPED"
        elif time.monotonic() >= deadline:
            ended_by = "TIMEOUT"
        if ended_by:
            _terminate(process)
            break
        if time.monotonic() >= next_flush:
            output.flush()
            errors.flush()
            next_flush = time.monotonic() + FLUSH_INTERVAL_S
        time.sleep(0.05)
    exit_code = process.wait()
    output.finish()
    errors.finish()
    if ended_by == "STOPPED":
        return Outcome("STOPPED")
    if ended_by == "TIMEOUT":
        return Outcome("TIMEOUT", f"Job run timed out after {timeout_minutes} minutes")
    if exit_code == 0:
        return Outcome("SUCCEEDED")
    return Outcome("FAILED", error_message(list(errors.tail), exit_code))


def _terminate(process: subprocess.Popen) -> None:
    for sig, wait_s in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue
