"""Lambda's queue for asynchronous (``Event``) invocations: retries, event age, destinations.

Follows https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html and
invocation-async-error-handling.html: the caller gets 202 at once; Lambda runs the event later and,
when the function returns an error (or times out, or its runtime dies), tries twice more, waiting
one minute before the first retry and two minutes before the second. ``MaximumRetryAttempts``
(0-2) and ``MaximumEventAgeInSeconds`` (60-21600, default six hours) come from the function's
event invoke configuration; the record of a finished event goes to its ``OnSuccess``/``OnFailure``
destination (SQS queue, SNS topic, Lambda function or EventBridge bus).

Local-only knob: a function tag ``localcloud:async-retry-delay-seconds`` sets the first retry's
delay (the second waits twice as long), so that tests need not wait minutes. AWS ignores the tag.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from helpers.localcloud.awslambda.sandbox import InvocationResult

log = logging.getLogger("localcloud.lambda")

DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2
DEFAULT_MAXIMUM_EVENT_AGE_S = 21600
FIRST_RETRY_DELAY_S = 60.0
RETRY_DELAY_TAG = "localcloud:async-retry-delay-seconds"
DISPATCH_THREADS = 8


@dataclass
class AsyncEvent:
    request_id: str
    region: str
    account: str
    function_name: str
    qualifier: str | None
    payload: bytes
    received: float = field(default_factory=time.time)
    attempts: int = 0


@dataclass(frozen=True)
class AsyncPolicy:
    """What the function's configuration says about retrying and routing one event."""

    maximum_retry_attempts: int
    maximum_event_age_s: int
    first_retry_delay_s: float
    on_success: str | None
    on_failure: str | None
    function_arn: str  # qualified, as invocation records show it

    @classmethod
    def of(cls, fn: Any, function_arn: str) -> AsyncPolicy:
        config: dict = fn.event_invoke_config[-1].config if fn.event_invoke_config else {}
        destinations = config.get("DestinationConfig") or {}
        delay = (getattr(fn, "tags", None) or {}).get(RETRY_DELAY_TAG)
        return cls(
            maximum_retry_attempts=int(config.get("MaximumRetryAttempts", DEFAULT_MAXIMUM_RETRY_ATTEMPTS)),
            maximum_event_age_s=int(config.get("MaximumEventAgeInSeconds", DEFAULT_MAXIMUM_EVENT_AGE_S)),
            first_retry_delay_s=float(delay) if delay is not None else FIRST_RETRY_DELAY_S,
            on_success=(destinations.get("OnSuccess") or {}).get("Destination") or None,
            on_failure=(destinations.get("OnFailure") or {}).get("Destination") or None,
            function_arn=function_arn,
        )


def invocation_record(event: AsyncEvent, policy: AsyncPolicy, result: InvocationResult | None, condition: str) -> dict:
    """The record Lambda sends to a destination (invocation-async-retain-records.html)."""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": policy.function_arn,
            "condition": condition,
            "approximateInvokeCount": event.attempts,
        },
        "requestPayload": _json_or_text(event.payload),
    }
    if result is not None:
        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": result.executed_version}
        if result.function_error:
            response_context["functionError"] = result.function_error
        record["responseContext"] = response_context
        record["responsePayload"] = _json_or_text(result.payload)
    return record


def _json_or_text(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return data.decode("utf-8", errors="replace")


class AsyncQueue:
    """Events waiting to run (now or at a retry time), run by a few dispatch threads."""

    def __init__(
        self,
        run: Callable[[AsyncEvent, float], InvocationResult | None],
        policy_of: Callable[[AsyncEvent], AsyncPolicy | None],
        deliver: Callable[[str, str, dict], None],
    ) -> None:
        self._run = run  # (event, give-up time) -> result, or None when it found no capacity in time
        self._policy_of = policy_of
        self._deliver = deliver  # (region, destination ARN, record)
        self._due: list[tuple[float, int, AsyncEvent]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopping = False
        self._executor = ThreadPoolExecutor(max_workers=DISPATCH_THREADS, thread_name_prefix="lambda-async")
        self._scheduler = threading.Thread(target=self._schedule, name="lambda-async-scheduler", daemon=True)

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            pending = len(self._due)
            self._wake.notify_all()
        if pending:
            log.warning("stopping with %d asynchronous Lambda event(s) still queued; they are dropped", pending)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def submit(self, event: AsyncEvent, delay_s: float = 0.0) -> None:
        with self._wake:
            heapq.heappush(self._due, (time.monotonic() + delay_s, next(self._order), event))
            self._wake.notify()

    def _schedule(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and (not self._due or self._due[0][0] > time.monotonic()):
                    self._wake.wait(self._due[0][0] - time.monotonic() if self._due else None)
                if self._stopping:
                    return
                _, _, event = heapq.heappop(self._due)
            self._executor.submit(self._attempt, event)

    def _attempt(self, event: AsyncEvent) -> None:
        try:
            policy = self._policy_of(event)
            if policy is None:  # the function was deleted meanwhile: Lambda drops the event
                log.warning("asynchronous event %s dropped: %s no longer exists", event.request_id, event.function_name)
                return
            age_limit = event.received + policy.maximum_event_age_s
            if time.time() >= age_limit:
                self._finish(event, policy, None, "EventAgeExceeded")
                return
            result = self._run(event, time.monotonic() + (age_limit - time.time()))
            if result is None:  # throttled: the event waits in the queue for capacity, as on AWS
                self.submit(event)
                return
            event.attempts += 1
            if result.function_error is None:
                self._finish(event, policy, result, "Success")
            elif event.attempts <= policy.maximum_retry_attempts:
                self.submit(event, delay_s=policy.first_retry_delay_s * event.attempts)
            else:
                self._finish(event, policy, result, "RetriesExhausted")
        except Exception:
            log.exception("asynchronous event %s of %s failed locally", event.request_id, event.function_name)

    def _finish(self, event: AsyncEvent, policy: AsyncPolicy, result: InvocationResult | None, condition: str) -> None:
        destination = policy.on_success if condition == "Success" else policy.on_failure
        if condition != "Success":
            log.warning(
                "asynchronous event %s of %s discarded (%s after %d attempt(s))",
                event.request_id, event.function_name, condition, event.attempts,
            )
        if destination:
            self._deliver(event.region, destination, invocation_record(event, policy, result, condition))
