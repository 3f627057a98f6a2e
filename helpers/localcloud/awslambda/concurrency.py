"""How many execution environments a function gets, and which one serves an invocation.

Lambda runs each concurrent request of a function in its own execution environment and reuses an
idle, warm one when it can (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html).
With reserved concurrency N, at most N run at once and a synchronous request beyond that is
throttled (429 TooManyRequestsException); asynchronous events wait in the queue instead
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html). Without a
reservation AWS allows up to the account's 1000; the local cloud runs at most
``DEFAULT_CONCURRENCY`` environments per function and queues the rest, to spare the laptop.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from helpers.localcloud.awslambda.sandbox import ExecutionEnvironment, FunctionSpec

DEFAULT_CONCURRENCY = 4
IDLE_LIFETIME_S = 300.0  # Lambda reclaims idle environments after minutes; so does the local cloud


class Throttled(Exception):
    """The function's reserved concurrency is all in use."""


class FunctionPool:
    """The execution environments of one function, all versions together (concurrency is per
    function). Thread-safe."""

    def __init__(self, make_environment: Callable[[FunctionSpec], ExecutionEnvironment]) -> None:
        self._make = make_environment
        self._lock = threading.Condition()
        self._idle: list[ExecutionEnvironment] = []  # most recently used last
        self._busy = 0  # slots taken, including environments still being started
        self._running: set[ExecutionEnvironment] = set()
        self._current: dict[str, str] = {}  # version -> fingerprint of its current code and settings

    def acquire(
        self, spec: FunctionSpec, reserved: int | None, wait_until: float | None
    ) -> ExecutionEnvironment:
        """An environment for ``spec``, warm if one is idle. ``wait_until`` (a ``time.monotonic()``
        deadline) queues the caller while the function is at its limit; ``None`` means throttle at
        once when a reservation is full (synchronous invocations), and wait when there is none."""
        limit = DEFAULT_CONCURRENCY if reserved is None else reserved
        stale: list[ExecutionEnvironment] = []
        with self._lock:
            self._current[spec.version] = spec.fingerprint
            while self._busy >= limit:
                if reserved is not None and wait_until is None:
                    raise Throttled()
                remaining = None if wait_until is None else wait_until - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise Throttled()
                self._lock.wait(remaining)
            self._busy += 1
            # Idle environments whose code or settings changed, or whose process died, are dropped.
            stale = [env for env in self._idle if not (env.alive and self._is_current(env))]
            self._idle = [env for env in self._idle if env not in stale]
            warm = [env for env in self._idle if env.fingerprint == spec.fingerprint]
            if warm:
                chosen = warm[-1]
                self._idle.remove(chosen)
            else:
                chosen = None
                # Room for a new environment: drop the least recently used idle ones beyond the limit.
                while self._idle and len(self._idle) + self._busy > max(limit, 1):
                    stale.append(self._idle.pop(0))
            if chosen is not None:
                self._running.add(chosen)
        for env in stale:
            env.kill()
        if chosen is not None:
            return chosen
        try:
            chosen = self._make(spec)
        except BaseException:
            self._give_back_slot()
            raise
        with self._lock:
            self._running.add(chosen)
        return chosen

    def release(self, env: ExecutionEnvironment) -> None:
        """Back to the pool after an invocation: kept warm if still alive and current."""
        with self._lock:
            self._busy -= 1
            self._running.discard(env)
            keep = env.alive and self._is_current(env)
            if keep:
                self._idle.append(env)
            self._lock.notify()
        if not keep:
            env.kill()

    def reap_idle(self, now: float) -> None:
        with self._lock:
            old = [env for env in self._idle if now - env.last_used > IDLE_LIFETIME_S]
            self._idle = [env for env in self._idle if env not in old]
        for env in old:
            env.kill()

    def close(self) -> None:
        """Kill every environment, idle or running (a running invocation then fails)."""
        with self._lock:
            idle, running = self._idle, list(self._running)
            self._idle = []
        for env in idle:
            env.kill()
        for env in running:  # its invoking thread sees the worker die, answers, and cleans up
            env.terminate()

    def _is_current(self, env: ExecutionEnvironment) -> bool:
        return self._current.get(env.spec.version) == env.fingerprint

    def _give_back_slot(self) -> None:
        with self._lock:
            self._busy -= 1
            self._lock.notify()
