"""Glue crawlers that crawl: StartCrawler infers tables from S3 and writes them to the Data Catalog.

moto stores crawlers but a started crawler stays RUNNING forever and creates nothing. This plane
answers the crawler operations that involve a run, following the crawler API
(https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-crawling.html) and "How crawlers
work" (https://docs.aws.amazon.com/glue/latest/dg/crawler-running.html):

* StartCrawler runs a crawl in a background thread (``glue.crawl``): the crawler goes RUNNING,
  then STOPPING for a moment, then READY, and ``LastCrawl`` reports SUCCEEDED, FAILED (with its
  ``ErrorMessage``) or CANCELLED, with the log group ``/aws-glue/crawlers``, the crawler's log
  stream and the crawl id as ``MessagePrefix``. A second StartCrawler while it runs or stops is a
  ``CrawlerRunningException``; StopCrawler cancels it (``CrawlerNotRunningException`` when idle,
  ``CrawlerStoppingException`` while stopping).
* GetCrawler, GetCrawlers and BatchGetCrawlers show that state (and ``CrawlElapsedTime``);
  GetCrawlerMetrics and ListCrawls report the crawls.
* UpdateCrawler (which moto lacks) and DeleteCrawler refuse a running crawler, as AWS does.
* A crawler's ``Schedule`` (``cron(...)``) starts it on time; StartCrawlerSchedule,
  StopCrawlerSchedule and UpdateCrawlerSchedule switch and change it.

Table naming, for the workbook: a crawler names a table after the folder its include path points
at, lowercased and with ``-`` turned into ``_``, after its ``TablePrefix``. The include path
``s3://<bucket>/aws-project/kinesis-stream/`` makes ``kinesis_stream``. To keep a name of one's
own (the course's ``s3_bulkimport``), create the table at that location and give the crawler
``CatalogTargets`` naming it: the crawl then updates that table in place (``glue.crawl``).
"""

from __future__ import annotations

import json
import logging
import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from helpers.localcloud.events.minute_ticker import MinuteTicker
from helpers.localcloud.events.schedule_expression import InvalidScheduleExpression, parse_cron
from helpers.localcloud.glue.crawl import Crawl, CrawlerDefinition, CrawlRunner, run_in_background
from helpers.localcloud.glue.wire import GlueError, entity_not_found, ok
from helpers.localcloud.plane import Context, DataPlane, amz_target, signing_scope

log = logging.getLogger("localcloud.glue")

STOPPING_SECONDS = 0.5  # how long a finished crawl shows STOPPING before READY
UPDATABLE = {
    "Role": "role",
    "DatabaseName": "database_name",
    "Description": "description",
    "Targets": "targets",
    "Schedule": "schedule",
    "Classifiers": "classifiers",
    "TablePrefix": "table_prefix",
    "SchemaChangePolicy": "schema_change_policy",
    "RecrawlPolicy": "recrawl_policy",
    "LineageConfiguration": "lineage_configuration",
    "Configuration": "configuration",
    "CrawlerSecurityConfiguration": "crawler_security_configuration",
}


@dataclass
class CrawlerRuns:
    """What this plane knows of one crawler beyond moto's definition."""

    phase: str = "READY"  # READY, RUNNING or STOPPING
    current: Crawl | None = None
    finished: list[Crawl] = field(default_factory=list)
    schedule_state: str = "SCHEDULED"  # while the crawler has a schedule


class GlueCrawlers(DataPlane):
    name = "glue-crawlers"
    OPERATIONS = {
        "StartCrawler",
        "StopCrawler",
        "GetCrawler",
        "GetCrawlers",
        "BatchGetCrawlers",
        "GetCrawlerMetrics",
        "ListCrawls",
        "UpdateCrawler",
        "DeleteCrawler",
        "StartCrawlerSchedule",
        "StopCrawlerSchedule",
        "UpdateCrawlerSchedule",
    }

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._runs: dict[tuple[str, str], CrawlerRuns] = {}
        self._lock = threading.Lock()
        self._ticker = MinuteTicker("glue-crawler-schedules", self._on_minute)

    # -- plane interface --

    def handles(self, request: Request) -> bool:
        target = amz_target(request)
        return request.method == "POST" and target.startswith("AWSGlue.") and target[8:] in self.OPERATIONS

    def handle(self, request: Request) -> Response:
        operation = amz_target(request)[8:]
        body = json.loads(request.get_data() or b"{}")
        region = signing_scope(request)[0] or "us-east-1"
        try:
            return ok(getattr(self, f"_{operation}")(region, body))
        except GlueError as error:
            return error.response()

    def start(self) -> None:
        self._ticker.start()

    def stop(self) -> None:
        self._ticker.stop()
        with self._lock:
            for runs in self._runs.values():
                if runs.current is not None:
                    runs.current.stop_requested.set()

    # -- helpers --

    def _crawler(self, region: str, name: str) -> Any:
        from moto.glue.exceptions import CrawlerNotFoundException

        try:
            return self.ctx.backend("glue", region).get_crawler(name)
        except CrawlerNotFoundException as error:
            raise entity_not_found(error.message) from None

    def _runs_of(self, region: str, name: str) -> CrawlerRuns:
        with self._lock:
            return self._runs.setdefault((region, name), CrawlerRuns())

    def _describe(self, region: str, crawler: Any) -> dict:
        runs = self._runs_of(region, crawler.name)
        described = crawler.as_dict()
        described["State"] = runs.phase
        described["CrawlElapsedTime"] = (
            int(runs.current.runtime_seconds * 1000) if runs.phase != "READY" and runs.current else 0
        )
        if runs.finished:
            described["LastCrawl"] = runs.finished[-1].last_crawl()
        else:
            described.pop("LastCrawl", None)
        if crawler.schedule:
            described["Schedule"] = {"ScheduleExpression": crawler.schedule, "State": runs.schedule_state}
        return described

    # -- runs --

    def _StartCrawler(self, region: str, body: dict) -> dict:
        self._start(region, self._crawler(region, body.get("Name", "")))
        return {}

    def _start(self, region: str, crawler: Any) -> None:
        runs = self._runs_of(region, crawler.name)
        with self._lock:
            if runs.phase != "READY":
                raise GlueError("CrawlerRunningException", f"Crawler with name {crawler.name} has already started")
            crawl = Crawl(crawler.name)
            runs.phase, runs.current = "RUNNING", crawl
        runner = CrawlRunner(self.ctx, region, CrawlerDefinition.of(crawler), crawl)
        run_in_background(runner, lambda: self._finish(runs, crawl))

    def _finish(self, runs: CrawlerRuns, crawl: Crawl) -> None:
        with self._lock:
            runs.phase = "STOPPING"
        time.sleep(STOPPING_SECONDS)
        with self._lock:
            runs.finished.append(crawl)
            runs.phase, runs.current = "READY", None

    def _StopCrawler(self, region: str, body: dict) -> dict:
        crawler = self._crawler(region, body.get("Name", ""))
        runs = self._runs_of(region, crawler.name)
        with self._lock:
            if runs.phase == "READY" or runs.current is None:
                raise GlueError("CrawlerNotRunningException", f"Crawler with name {crawler.name} isn't running")
            if runs.phase == "STOPPING":
                raise GlueError("CrawlerStoppingException", f"Crawler with name {crawler.name} is stopping")
            runs.current.stop_requested.set()
            runs.phase = "STOPPING"
        return {}

    # -- descriptions --

    def _GetCrawler(self, region: str, body: dict) -> dict:
        return {"Crawler": self._describe(region, self._crawler(region, body.get("Name", "")))}

    def _GetCrawlers(self, region: str, body: dict) -> dict:
        crawlers = self.ctx.backend("glue", region).get_crawlers()
        return {"Crawlers": [self._describe(region, crawler) for crawler in crawlers]}

    def _BatchGetCrawlers(self, region: str, body: dict) -> dict:
        found, missing = [], []
        crawlers = self.ctx.backend("glue", region).crawlers
        for name in body.get("CrawlerNames", []):
            if name in crawlers:
                found.append(self._describe(region, crawlers[name]))
            else:
                missing.append(name)
        return {"Crawlers": found, "CrawlersNotFound": missing}

    def _GetCrawlerMetrics(self, region: str, body: dict) -> dict:
        crawlers = self.ctx.backend("glue", region).crawlers
        names = body.get("CrawlerNameList") or list(crawlers)
        metrics = []
        for name in names:
            if name not in crawlers:
                continue
            runs = self._runs_of(region, name)
            runtimes = [crawl.runtime_seconds for crawl in runs.finished]
            last = runs.finished[-1] if runs.finished else None
            result = last.result if last else None
            median = statistics.median(runtimes) if runtimes else 0.0
            running = runs.current is not None and runs.phase == "RUNNING"
            elapsed = runs.current.runtime_seconds if running and runs.current else 0.0
            metrics.append(
                {
                    "CrawlerName": name,
                    "TimeLeftSeconds": max(0.0, median - elapsed) if running else 0.0,
                    "StillEstimating": running and not runtimes,
                    "LastRuntimeSeconds": round(runtimes[-1], 3) if runtimes else 0.0,
                    "MedianRuntimeSeconds": round(median, 3),
                    "TablesCreated": len(result.tables_created) if result else 0,
                    "TablesUpdated": len(result.tables_updated) if result else 0,
                    "TablesDeleted": len(result.tables_deleted) if result else 0,
                }
            )
        return {"CrawlerMetricsList": metrics}

    def _ListCrawls(self, region: str, body: dict) -> dict:
        crawler = self._crawler(region, body.get("CrawlerName", ""))
        runs = self._runs_of(region, crawler.name)
        crawls = list(runs.finished) + ([runs.current] if runs.current else [])
        entries = [crawl.as_list_entry() for crawl in reversed(crawls)]
        for crawl_filter in body.get("Filters") or []:
            entries = [entry for entry in entries if _filter_holds(crawl_filter, entry)]
        start = int(body.get("NextToken") or 0)
        limit = int(body.get("MaxResults") or 20)
        page = entries[start : start + limit]
        return {"Crawls": page, "NextToken": str(start + limit) if start + limit < len(entries) else None}

    # -- definition changes moto does not guard or lacks --

    def _UpdateCrawler(self, region: str, body: dict) -> dict:
        from moto.core.utils import utcnow

        crawler = self._crawler(region, body.get("Name", ""))
        self._refuse_while_running(region, crawler.name)
        if body.get("Schedule"):
            _check_schedule(body["Schedule"])
        for member, attribute in UPDATABLE.items():
            if member in body:
                setattr(crawler, attribute, body[member])
        crawler.version += 1
        crawler.last_updated = utcnow()
        return {}

    def _DeleteCrawler(self, region: str, body: dict) -> dict:
        crawler = self._crawler(region, body.get("Name", ""))
        self._refuse_while_running(region, crawler.name)
        self.ctx.backend("glue", region).delete_crawler(crawler.name)
        with self._lock:
            self._runs.pop((region, crawler.name), None)
        return {}

    def _refuse_while_running(self, region: str, name: str) -> None:
        if self._runs_of(region, name).phase != "READY":
            raise GlueError("CrawlerRunningException", f"Crawler with name {name} is running")

    # -- schedules --

    def _UpdateCrawlerSchedule(self, region: str, body: dict) -> dict:
        crawler = self._crawler(region, body.get("CrawlerName", ""))
        if body.get("Schedule"):
            _check_schedule(body["Schedule"])
        crawler.schedule = body.get("Schedule")
        return {}

    def _StartCrawlerSchedule(self, region: str, body: dict) -> dict:
        crawler = self._crawler(region, body.get("CrawlerName", ""))
        runs = self._runs_of(region, crawler.name)
        if not crawler.schedule:
            raise GlueError("NoScheduleException", f"Crawler with name {crawler.name} does not have a schedule")
        if runs.schedule_state == "SCHEDULED":
            raise GlueError("SchedulerRunningException", f"Schedule of crawler {crawler.name} is already running")
        runs.schedule_state = "SCHEDULED"
        return {}

    def _StopCrawlerSchedule(self, region: str, body: dict) -> dict:
        crawler = self._crawler(region, body.get("CrawlerName", ""))
        runs = self._runs_of(region, crawler.name)
        if not crawler.schedule or runs.schedule_state != "SCHEDULED":
            raise GlueError("SchedulerNotRunningException", f"Schedule of crawler {crawler.name} is not running")
        runs.schedule_state = "NOT_SCHEDULED"
        return {}

    def _on_minute(self, minute: datetime) -> None:
        from moto.glue.models import glue_backends

        for _, regions in list(glue_backends.items()):
            for region, backend in list(regions.items()):
                for crawler in list(backend.crawlers.values()):
                    if not crawler.schedule or self._runs_of(region, crawler.name).schedule_state != "SCHEDULED":
                        continue
                    try:
                        due = parse_cron(crawler.schedule).matches(minute)
                    except InvalidScheduleExpression as error:
                        log.error("crawler %s: schedule %s", crawler.name, error)
                        continue
                    if due:
                        try:
                            self._start(region, crawler)
                        except GlueError as error:
                            log.warning("crawler %s: scheduled run skipped: %s", crawler.name, error.message)


def _check_schedule(expression: str) -> None:
    try:
        parse_cron(expression)
    except InvalidScheduleExpression as error:
        raise GlueError("InvalidInputException", f"Invalid schedule expression {error}") from None


def _filter_holds(crawl_filter: dict, entry: dict) -> bool:
    """ListCrawls filters on CRAWL_ID and STATE (EQ, NE); others are refused."""
    fields = {"CRAWL_ID": "CrawlId", "STATE": "State"}
    field_name, operator = crawl_filter.get("FieldName"), crawl_filter.get("FilterOperator")
    if field_name not in fields or operator not in ("EQ", "NE"):
        message = f"ListCrawls filter {field_name} {operator} is not supported by the local cloud"
        raise GlueError("InvalidInputException", message)
    value = crawl_filter.get("FieldValue")
    return (entry.get(fields[field_name]) == value) == (operator == "EQ")
