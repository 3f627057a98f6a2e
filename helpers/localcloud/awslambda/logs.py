"""What a Lambda execution environment writes to CloudWatch Logs, and the lines the platform adds.

Each execution environment has its own log stream, ``YYYY/MM/DD/[<version>]<32 hex>``, in the group
``/aws/lambda/<function name>`` (created on first use, as Lambda does when its role allows it). The
platform frames each invocation with ``START``/``END``/``REPORT`` lines.
See https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html and
https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html.
"""

from __future__ import annotations

import base64
import math
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

TAIL_BYTES = 4096  # Invoke's LogType=Tail returns "the last 4 KB of the execution log"

# moto's logs backend is not thread-safe; every writer of this process goes through this lock.
LOGS_LOCK = threading.Lock()


def log_group_name(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def new_log_stream_name(version: str) -> str:
    return f"{datetime.now(timezone.utc):%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"


def output_lines(output: bytes) -> list[str]:
    """Handler output as log events: one per line (a ``\\r`` inside a line stays in its event)."""
    text = output.decode("utf-8", errors="replace")
    return [line for line in text.split("\n") if line.strip()]


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def timed_out_line(request_id: str, timeout_s: float) -> str:
    timestamp = f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%S.%f}"[:-3] + "Z"
    return f"{timestamp} {request_id} Task timed out after {timeout_s:.2f} seconds"


@dataclass(frozen=True)
class Report:
    request_id: str
    duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None = None
    status: str | None = None  # "timeout", "error"
    error_type: str | None = None

    @property
    def billed_duration_ms(self) -> int:
        # Billed in 1 ms steps; since 2025-08-01 the Init phase of on-demand ZIP functions on managed
        # runtimes is billed too (https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/).
        return math.ceil(self.duration_ms + (self.init_duration_ms or 0.0))

    def line(self) -> str:
        fields = [
            f"REPORT RequestId: {self.request_id}",
            f"Duration: {self.duration_ms:.2f} ms",
            f"Billed Duration: {self.billed_duration_ms} ms",
            f"Memory Size: {self.memory_size_mb} MB",
            f"Max Memory Used: {self.max_memory_used_mb} MB",
        ]
        if self.init_duration_ms is not None:
            fields.append(f"Init Duration: {self.init_duration_ms:.2f} ms")
        if self.status:
            fields.append(f"Status: {self.status}")
        if self.error_type:
            fields.append(f"Error Type: {self.error_type}")
        return "\t".join(fields) + "\t"


def tail(lines: list[str]) -> str:
    """The base64 ``X-Amz-Log-Result`` header: the last 4 KB of an invocation's log."""
    text = "".join(line + "\n" for line in lines).encode("utf-8")
    return base64.b64encode(text[-TAIL_BYTES:]).decode("ascii")


class LogStream:
    """One execution environment's log stream, written straight into moto's logs backend."""

    def __init__(self, logs_backend: Callable[[], Any], function_name: str, version: str) -> None:
        self._backend = logs_backend
        self.group = log_group_name(function_name)
        self.name = new_log_stream_name(version)

    def write(self, messages: list[str]) -> None:
        if not messages:
            return
        now_ms = int(time.time() * 1000)
        events = [{"timestamp": now_ms, "message": message} for message in messages]
        with LOGS_LOCK:
            backend = self._backend()
            if self.group not in backend.groups:  # first write, or deleted since: Lambda (re)creates it
                backend.create_log_group(self.group, tags={})
            backend.ensure_log_stream(self.group, self.name)
            backend.put_log_events(self.group, self.name, events)
