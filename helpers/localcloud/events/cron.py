"""AWS cron expressions: the six fields of ``cron(...)`` parsed, validated and evaluated in UTC.

Follows "Cron expressions" in https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
(the syntax Glue triggers and crawler schedules share, see
https://docs.aws.amazon.com/glue/latest/dg/monitor-data-warehouse-schedule.html):

    minutes  hours  day-of-month  month        day-of-week  year
    0-59     0-23   1-31          1-12/JAN-DEC 1-7/SUN-SAT  1970-2199
    , - * /  , - * / , - * ? / L W  , - * /    , - * ? L #  , - * /

One of day-of-month and day-of-week must be ``?`` and the other must not. A range may wrap
(``20-2`` in hours runs from 20:00 through 02:00). ``L`` is the last day of the month (day-of-month)
or, after a weekday, its last occurrence in the month (``6L``: the last Friday); ``nW`` is the
weekday nearest to day n within the month (``LW``: the last weekday); ``d#k`` is the k-th weekday d
of the month, alone in its field.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

MIN_YEAR, MAX_YEAR = 1970, 2199
MONTH_NAMES = {name: number for number, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
WEEKDAY_NAMES = {name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
NUMBER = re.compile(r"\d{1,4}")


class InvalidCron(ValueError):
    """The fields are not a valid AWS cron expression (the message says which part)."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None
    increments: bool = True


MINUTES = _Field("minutes", 0, 59)
HOURS = _Field("hours", 0, 23)
DAY_OF_MONTH = _Field("day-of-month", 1, 31)
MONTH = _Field("month", 1, 12, MONTH_NAMES)
DAY_OF_WEEK = _Field("day-of-week", 1, 7, WEEKDAY_NAMES, increments=False)
YEAR = _Field("year", MIN_YEAR, MAX_YEAR)


def _value(text: str, field: _Field) -> int:
    upper = text.upper()
    if field.names and upper in field.names:
        return field.names[upper]
    if not NUMBER.fullmatch(text):
        raise InvalidCron(f"{field.name}: {text!r} is not a value")
    number = int(text)
    if not field.low <= number <= field.high:
        raise InvalidCron(f"{field.name}: {number} is outside {field.low}-{field.high}")
    return number


def _span(low: int, high: int, field: _Field) -> list[int]:
    """low..high inclusive, wrapping past the field's end when low > high."""
    if low <= high:
        return list(range(low, high + 1))
    return list(range(low, field.high + 1)) + list(range(field.low, high + 1))


def _values(text: str, field: _Field) -> frozenset[int]:
    """A comma-separated list of ``*``, ``a``, ``a-b``, each optionally ``/step``."""
    result: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        if slash and not field.increments:
            raise InvalidCron(f"{field.name}: increments (/) are not allowed")
        if base == "*":
            values = list(range(field.low, field.high + 1))
        elif "-" in base:
            low_text, _, high_text = base.partition("-")
            values = _span(_value(low_text, field), _value(high_text, field), field)
        else:
            start = _value(base, field)
            # "a/n" runs from a to the end of the field
            values = list(range(start, field.high + 1)) if slash else [start]
        if slash:
            if not NUMBER.fullmatch(step_text) or not 1 <= int(step_text) <= field.high:
                raise InvalidCron(f"{field.name}: {step_text!r} is not a valid increment")
            values = values[:: int(step_text)]
        result.update(values)
    return frozenset(result)


@dataclass(frozen=True)
class DayOfMonth:
    days: frozenset[int] = frozenset()
    last: bool = False  # L
    nearest_weekday: int | None = None  # nW
    last_weekday: bool = False  # LW

    @classmethod
    def parse(cls, text: str) -> DayOfMonth:
        upper = text.upper()
        if upper == "L":
            return cls(last=True)
        if upper == "LW":
            return cls(last_weekday=True)
        if upper.endswith("W"):
            return cls(nearest_weekday=_value(upper[:-1], DAY_OF_MONTH))
        return cls(days=_values(text, DAY_OF_MONTH))

    def matches(self, day: date) -> bool:
        last_day = calendar.monthrange(day.year, day.month)[1]
        if self.last:
            return day.day == last_day
        if self.last_weekday:
            return day.day == _nearest_weekday(day.year, day.month, last_day)
        if self.nearest_weekday is not None:
            if self.nearest_weekday > last_day:
                return False
            return day.day == _nearest_weekday(day.year, day.month, self.nearest_weekday)
        return day.day in self.days


def _nearest_weekday(year: int, month: int, day: int) -> int:
    """The weekday (Mon-Fri) nearest to ``day``, without leaving the month."""
    last_day = calendar.monthrange(year, month)[1]
    weekday = date(year, month, day).weekday()  # Monday = 0
    if weekday == 5:  # Saturday: the Friday before, or the Monday after on the 1st
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before on the last day
        return day + 1 if day < last_day else day - 2
    return day


def aws_weekday(day: date) -> int:
    """1 = Sunday ... 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


@dataclass(frozen=True)
class DayOfWeek:
    weekdays: frozenset[int] = frozenset()
    last_of_month: int | None = None  # dL
    nth: tuple[int, int] | None = None  # d#k

    @classmethod
    def parse(cls, text: str) -> DayOfWeek:
        upper = text.upper()
        if "#" in upper:
            weekday_text, _, nth_text = upper.partition("#")
            if "," in upper or not nth_text.isdigit() or not 1 <= int(nth_text) <= 5:
                raise InvalidCron(f"day-of-week: {text!r} is not a valid d#k expression")
            return cls(nth=(_value(weekday_text, DAY_OF_WEEK), int(nth_text)))
        if upper == "L":
            return cls(weekdays=frozenset({7}))  # L alone is the last day of the week, Saturday
        if upper.endswith("L"):
            return cls(last_of_month=_value(upper[:-1], DAY_OF_WEEK))
        return cls(weekdays=_values(text, DAY_OF_WEEK))

    def matches(self, day: date) -> bool:
        weekday = aws_weekday(day)
        if self.nth is not None:
            wanted, nth = self.nth
            return weekday == wanted and (day.day - 1) // 7 + 1 == nth
        if self.last_of_month is not None:
            last_day = calendar.monthrange(day.year, day.month)[1]
            return weekday == self.last_of_month and day.day + 7 > last_day
        return weekday in self.weekdays


@dataclass(frozen=True)
class CronExpression:
    """The fields of ``cron(...)``; ``matches`` and ``next_after`` work on UTC minutes."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    day_of_month: DayOfMonth | None  # None for "?"
    months: frozenset[int]
    day_of_week: DayOfWeek | None  # None for "?"
    years: frozenset[int]

    @classmethod
    def parse(cls, fields_text: str) -> CronExpression:
        fields = fields_text.split()
        if len(fields) != 6:
            raise InvalidCron(f"a cron expression has 6 fields, not {len(fields)}")
        minutes, hours, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise InvalidCron("exactly one of day-of-month and day-of-week must be '?'")
        return cls(
            text=fields_text,
            minutes=_values(minutes, MINUTES),
            hours=_values(hours, HOURS),
            day_of_month=None if dom == "?" else DayOfMonth.parse(dom),
            months=_values(month, MONTH),
            day_of_week=None if dow == "?" else DayOfWeek.parse(dow),
            years=_values(year, YEAR),
        )

    def day_matches(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.day_of_month is not None:
            return self.day_of_month.matches(day)
        assert self.day_of_week is not None
        return self.day_of_week.matches(day)

    def matches(self, moment: datetime) -> bool:
        """True when the schedule fires in the minute that holds ``moment`` (UTC)."""
        moment = _utc(moment)
        return moment.minute in self.minutes and moment.hour in self.hours and self.day_matches(moment.date())

    def next_after(self, moment: datetime) -> datetime | None:
        """The first minute strictly after ``moment``'s minute when the schedule fires, or None."""
        start = _utc(moment).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        while day.year <= MAX_YEAR:
            if day.year not in self.years:
                day = date(day.year + 1, 1, 1)
                continue
            if day.month not in self.months:
                day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
                continue
            if self.day_matches(day):
                for hour in hours:
                    for minute in minutes:
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone.utc)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        return None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
