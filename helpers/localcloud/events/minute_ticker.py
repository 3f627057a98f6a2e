"""A thread that calls back at the start of every UTC minute: the clock of cron schedules.

The finest grain of an AWS cron expression is one minute, so a schedule only needs looking at when
a minute begins; between two minutes the thread sleeps.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import datetime, timezone
from typing import Callable

log = logging.getLogger("localcloud.schedules")


class MinuteTicker:
    def __init__(self, name: str, on_minute: Callable[[datetime], None]) -> None:
        self._on_minute = on_minute
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        last_minute = math.floor(time.time() / 60)
        while not self._stopping.wait(timeout=(last_minute + 1) * 60 - time.time()):
            minute = math.floor(time.time() / 60)
            if minute <= last_minute:  # woke a hair early
                continue
            last_minute = minute
            try:
                self._on_minute(datetime.fromtimestamp(minute * 60, timezone.utc))
            except Exception:
                log.exception("%s: minute callback failed", self._thread.name)
