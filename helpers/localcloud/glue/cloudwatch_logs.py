"""Lines a Glue crawl or job run writes to CloudWatch Logs, straight into moto's logs backend.

Crawlers write to ``/aws-glue/crawlers``, one stream per crawler; Python shell jobs to
``/aws-glue/python-jobs/output`` and ``/aws-glue/python-jobs/error``, one stream per job run
(https://docs.aws.amazon.com/glue/latest/dg/console-crawlers.html,
https://docs.aws.amazon.com/glue/latest/dg/add-job-python.html). Groups and streams are created on
first use, as Glue does.
"""

from __future__ import annotations

import time
from typing import Any, Callable

# moto's logs backend is not thread-safe: every writer of the server process shares this lock.
from helpers.localcloud.awslambda.logs import LOGS_LOCK

MAX_EVENT_BYTES = 256 * 1024 - 26  # PutLogEvents: an event is at most 256 KB with its 26-byte overhead


def write(logs_backend: Callable[[], Any], group: str, stream: str, messages: list[str]) -> None:
    if not messages:
        return
    now_ms = int(time.time() * 1000)
    events = [{"timestamp": now_ms, "message": message[:MAX_EVENT_BYTES]} for message in messages]
    with LOGS_LOCK:
        backend = logs_backend()
        if group not in backend.groups:
            backend.create_log_group(group, tags={})
        backend.ensure_log_stream(group, stream)
        backend.put_log_events(group, stream, events)
