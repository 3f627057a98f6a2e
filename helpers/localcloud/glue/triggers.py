"""When Glue triggers fire (https://docs.aws.amazon.com/glue/latest/dg/about-triggers.html).

* ``ON_DEMAND``: StartTrigger fires it once, now.
* ``SCHEDULED``: once ACTIVATED (StartTrigger, or ``StartOnCreation``), in every minute its
  ``cron(...)`` matches, until StopTrigger.
* ``CONDITIONAL``: once ACTIVATED, when its predicate holds. Each condition watches a job reaching
  a state (``JobName`` + ``State``) or a crawler's crawl ending (``CrawlerName`` + ``CrawlState``);
  ``Logical: ANY`` fires on any one of them, ``AND`` when all of them have happened since the
  trigger last fired.

Firing starts every action: a job run with the action's ``Arguments`` (and ``Timeout``,
``NotificationProperty``, ``SecurityConfiguration``) and ``TriggerName`` set, or a crawl.
"""

from __future__ import annotations

import threading
from typing import Any


class ConditionTracker:
    """Which conditions of each CONDITIONAL trigger held since it last fired."""

    def __init__(self) -> None:
        self._met: dict[tuple[str, str], set[int]] = {}
        self._lock = threading.Lock()

    def observe(
        self, region: str, triggers: list[Any], *, job: str | None = None, crawler: str | None = None, state: str
    ) -> list[Any]:
        """Record that ``job`` reached ``state`` (or ``crawler``'s crawl ended in it); return the
        ACTIVATED conditional triggers that now fire."""
        firing = []
        with self._lock:
            for trigger in triggers:
                described = trigger.as_dict()
                if described.get("Type") != "CONDITIONAL" or described.get("State") != "ACTIVATED":
                    continue
                predicate = described.get("Predicate") or {}
                conditions = predicate.get("Conditions") or []
                met = self._met.setdefault((region, trigger.name), set())
                for index, condition in enumerate(conditions):
                    if job is not None and (condition.get("JobName"), condition.get("State")) == (job, state):
                        met.add(index)
                    if crawler is not None and (condition.get("CrawlerName"), condition.get("CrawlState")) == (crawler, state):
                        met.add(index)
                if not conditions or not met:
                    continue
                if predicate.get("Logical", "AND") == "ANY" or len(met) == len(conditions):
                    firing.append(trigger)
                    met.clear()
        return firing

    def watched_crawlers(self, triggers: list[Any]) -> set[str]:
        """Crawlers that ACTIVATED conditional triggers wait for."""
        names = set()
        for trigger in triggers:
            described = trigger.as_dict()
            if described.get("Type") == "CONDITIONAL" and described.get("State") == "ACTIVATED":
                for condition in (described.get("Predicate") or {}).get("Conditions") or []:
                    if condition.get("CrawlerName"):
                        names.add(condition["CrawlerName"])
        return names
