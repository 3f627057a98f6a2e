"""When scheduled rules run: one thread that sleeps until the next minute boundary or the next rate.

Follows https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-rule-schedule.html: "the
minimum precision for a schedule is one minute"; a cron rule runs once in each matching UTC minute
(just after the minute starts, and its event says that minute); "a rate expression starts when you
create the scheduled event rule", so ``rate(5 minutes)`` runs 5, 10, 15... minutes after the rule
was created (its event says the second it ran). A rule that is DISABLED keeps its cadence but does
not run; a rule whose expression changes starts a new cadence. Runs missed while the machine slept
are not made up (at most one run per rule per wake-up).

Local-only knob: a rule tag ``localcloud:minute-seconds`` (e.g. ``"1"``) makes one minute of that
rule's *rate* last that many seconds, so that a test sees ``rate(1 minute)`` run every second. It
has no effect on cron rules (they follow the wall clock) and AWS ignores the tag.

When idle the thread wakes once a minute and reads the rules from moto; ``wake()`` makes it look at
once (the plane calls it when a rule is put).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from helpers.localcloud.events.schedule_expression import CronSchedule, RateSchedule, Schedule

log = logging.getLogger("localcloud.events")

MINUTE_SECONDS_TAG = "localcloud:minute-seconds"


@dataclass(frozen=True)
class ScheduledRule:
    key: tuple[str, str, str]  # account, region, rule name (scheduled rules live on the default bus)
    arn: str
    name: str
    expression: str
    schedule: Schedule
    enabled: bool
    minute_seconds: float = 60.0


@dataclass
class _Cadence:
    expression: str
    minute_seconds: float
    next_rate_run: float | None  # epoch seconds, for rate rules
    last_cron_minute: int  # epoch minutes, for cron rules


class RuleScheduler:
    def __init__(
        self,
        rules: Callable[[], list[ScheduledRule]],
        run: Callable[[ScheduledRule, datetime], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._rules, self._run, self._clock = rules, run, clock
        self._cadences: dict[tuple[str, str, str], _Cadence] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="events-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                wake_at = self.tick(self._clock())
            except Exception:  # a bad rule must not stop every schedule
                log.exception("scheduler tick failed")
                wake_at = self._clock() + 60
            self._wake.wait(timeout=max(0.0, wake_at - self._clock()))
            self._wake.clear()

    def tick(self, now: float) -> float:
        """Run every rule that is due at ``now``; return when something is next due."""
        wake_at = (math.floor(now / 60) + 1) * 60.0  # the next minute boundary
        current_minute = math.floor(now / 60)
        seen = set()
        for rule in self._rules():
            seen.add(rule.key)
            cadence = self._cadences.get(rule.key)
            if cadence is None or (cadence.expression, cadence.minute_seconds) != (rule.expression, rule.minute_seconds):
                cadence = self._cadences[rule.key] = _Cadence(rule.expression, rule.minute_seconds, None, current_minute)
            if isinstance(rule.schedule, RateSchedule):
                period = rule.schedule.minutes * rule.minute_seconds
                if cadence.next_rate_run is None:
                    cadence.next_rate_run = now + period
                elif now >= cadence.next_rate_run:
                    if rule.enabled:
                        self._run(rule, datetime.fromtimestamp(now, timezone.utc))
                    missed = math.floor((now - cadence.next_rate_run) / period) + 1
                    cadence.next_rate_run += missed * period
                wake_at = min(wake_at, cadence.next_rate_run)
            elif isinstance(rule.schedule, CronSchedule):
                if current_minute > cadence.last_cron_minute:
                    moment = datetime.fromtimestamp(current_minute * 60, timezone.utc)
                    if rule.enabled and rule.schedule.cron.matches(moment):
                        self._run(rule, moment)
                    cadence.last_cron_minute = current_minute
        for gone in set(self._cadences) - seen:
            del self._cadences[gone]
        return wake_at
