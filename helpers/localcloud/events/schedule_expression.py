"""A rule's ``ScheduleExpression``: ``rate(value unit)`` or ``cron(fields)``, validated as PutRule does.

https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html: a rate's
value is a positive number and its unit is singular for 1 (``rate(1 minute)``) and plural above
(``rate(5 minutes)``); units are minute(s), hour(s), day(s). Anything else makes PutRule answer
``ValidationException: Parameter ScheduleExpression is not valid.``. "A rate expression starts when
you create the scheduled event rule": it first fires one interval after the rule is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from helpers.localcloud.events.cron import CronExpression, InvalidCron

RATE = re.compile(r"rate\((?P<value>\d+) (?P<unit>minute|minutes|hour|hours|day|days)\)")
CRON = re.compile(r"cron\((?P<fields>[^()]*)\)")
UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440}
INVALID_MESSAGE = "Parameter ScheduleExpression is not valid."


class InvalidScheduleExpression(ValueError):
    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(f"{expression!r}: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class RateSchedule:
    minutes: int  # the interval

    @property
    def interval(self) -> timedelta:
        return timedelta(minutes=self.minutes)


@dataclass(frozen=True)
class CronSchedule:
    cron: CronExpression


Schedule = RateSchedule | CronSchedule


def parse(expression: str) -> Schedule:
    rate = RATE.fullmatch(expression)
    if rate:
        value, unit = int(rate.group("value")), rate.group("unit")
        if value < 1:
            raise InvalidScheduleExpression(expression, "the rate must be a positive number")
        if (value == 1) != (not unit.endswith("s")):
            raise InvalidScheduleExpression(expression, "use a singular unit for 1 and a plural unit above 1")
        return RateSchedule(value * UNIT_MINUTES[unit.rstrip("s")])
    cron = CRON.fullmatch(expression)
    if cron:
        try:
            return CronSchedule(CronExpression.parse(cron.group("fields")))
        except InvalidCron as error:
            raise InvalidScheduleExpression(expression, str(error)) from None
    raise InvalidScheduleExpression(expression, "expected rate(value unit) or cron(fields)")


def parse_cron(expression: str) -> CronExpression:
    """Glue schedules (triggers, crawlers) accept only ``cron(...)``."""
    schedule = parse(expression)
    if not isinstance(schedule, CronSchedule):
        raise InvalidScheduleExpression(expression, "expected cron(fields)")
    return schedule.cron
