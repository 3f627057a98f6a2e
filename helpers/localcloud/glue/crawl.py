"""One crawl of a crawler: list its S3 targets, classify the objects, plan tables, write the catalog.

Follows "How crawlers work" (https://docs.aws.amazon.com/glue/latest/dg/crawler-running.html) and
the S3Target, CatalogTarget, SchemaChangePolicy, RecrawlPolicy and Configuration members of
CreateCrawler (https://docs.aws.amazon.com/glue/latest/webapi/API_CreateCrawler.html). S3 and
catalog targets only: a crawler with JDBC, DynamoDB, MongoDB, Delta, Iceberg or Hudi targets fails
with a message that says so, as do S3 event mode (``CRAWL_EVENT_MODE``), custom classifiers and
configuration options the local cloud does not know. ``SampleSize`` (files crawled per leaf folder)
is honoured.

A catalog target (https://docs.aws.amazon.com/glue/latest/webapi/API_CatalogTarget.html; "AWS Glue
crawlers now support existing Data Catalog tables as sources",
https://aws.amazon.com/about-aws/whats-new/2019/05/aws-glue-crawlers-now-support-existing-data-catalog-tables-as-sources/)
names existing tables: the crawl reads each table's ``StorageDescriptor.Location``, crawls it as an
S3 include path whose folder is the table's root, and updates that table (columns, partition keys,
partitions, properties) under its own name. A crawler with catalog targets needs ``DeleteBehavior``
``LOG`` and no other kind of target; the local cloud checks both when the crawl starts (not at
CreateCrawler), and a listed table that does not exist fails the crawl.

The crawl writes its progress to CloudWatch Logs (group ``/aws-glue/crawlers``, stream = crawler
name, each line prefixed with the crawl id) and can be stopped between two objects.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Callable

from helpers.localcloud.glue import cloudwatch_logs
from helpers.localcloud.glue.catalog_writer import CatalogWriter, WriteResult, WriterSettings
from helpers.localcloud.glue.classify import UNKNOWN, classify
from helpers.localcloud.glue.exclusions import Exclusions, InvalidPattern
from helpers.localcloud.glue.s3_objects import NoSuchBucket, S3Path, S3Reader
from helpers.localcloud.glue.table_layout import CrawledFile, LayoutError, TablePlan, plan_tables
from helpers.localcloud.plane import DEFAULT_ACCOUNT_ID, Context

log = logging.getLogger("localcloud.glue")

LOG_GROUP = "/aws-glue/crawlers"
UNSUPPORTED_TARGETS = (
    "JdbcTargets",
    "MongoDBTargets",
    "DynamoDBTargets",
    "DeltaTargets",
    "IcebergTargets",
    "HudiTargets",
)
KNOWN_CONFIGURATION = {
    "Version": None,
    "Grouping": {"TableGroupingPolicy", "TableLevelConfiguration"},
    "CrawlerOutput": {"Tables", "Partitions"},
}


class CrawlFailed(Exception):
    """The crawl cannot go on; the message is the crawl's ErrorMessage."""


class CrawlCancelled(Exception):
    pass


@dataclass
class Crawl:
    """A crawl as ListCrawls reports it, and what LastCrawl shows once it is over."""

    crawler_name: str
    crawl_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    start_time: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    end_time: datetime | None = None
    state: str = "RUNNING"  # RUNNING, COMPLETED, FAILED or STOPPED
    error_message: str | None = None
    result: WriteResult | None = None
    stop_requested: threading.Event = field(default_factory=threading.Event)

    @property
    def last_crawl_status(self) -> str:
        return {"COMPLETED": "SUCCEEDED", "FAILED": "FAILED", "STOPPED": "CANCELLED"}.get(self.state, "RUNNING")

    @property
    def runtime_seconds(self) -> float:
        end = self.end_time or datetime.now(timezone.utc)
        return (end - self.start_time).total_seconds()

    def last_crawl(self) -> dict:
        return {
            "Status": self.last_crawl_status,
            "ErrorMessage": self.error_message,
            "LogGroup": LOG_GROUP,
            "LogStream": self.crawler_name,
            "MessagePrefix": self.crawl_id,
            "StartTime": self.start_time,
        }

    def as_list_entry(self) -> dict:
        return {
            "CrawlId": self.crawl_id,
            "State": self.state,
            "StartTime": self.start_time,
            "EndTime": self.end_time,
            "Summary": json.dumps(self.result.summary()) if self.result else None,
            "ErrorMessage": self.error_message,
            "LogGroup": LOG_GROUP,
            "LogStream": self.crawler_name,
            "MessagePrefix": self.crawl_id,
            "DPUHour": round(self.runtime_seconds / 3600, 6) if self.end_time else None,
        }


@dataclass(frozen=True)
class CrawlerDefinition:
    """What a crawl needs of the crawler moto stores, copied when the crawl starts."""

    name: str
    role: str
    database: str
    targets: dict
    table_prefix: str
    schema_change_policy: dict
    recrawl_policy: dict
    configuration: str | None
    classifiers: list[str]

    @classmethod
    def of(cls, crawler: Any) -> CrawlerDefinition:
        return cls(
            name=crawler.name,
            role=crawler.role or "",
            database=crawler.database_name or "default",
            targets=json.loads(json.dumps(crawler.targets or {})),
            table_prefix=crawler.table_prefix or "",
            schema_change_policy=dict(crawler.schema_change_policy or {}),
            recrawl_policy=dict(crawler.recrawl_policy or {}),
            configuration=crawler.configuration,
            classifiers=list(crawler.classifiers or []),
        )


def _configuration(text: str | None) -> dict:
    if not text:
        return {}
    try:
        configuration = json.loads(text)
    except ValueError as error:
        raise CrawlFailed(f"Crawler configuration is not valid JSON: {error}") from None
    for key, value in configuration.items():
        if key not in KNOWN_CONFIGURATION:
            raise CrawlFailed(f"Crawler configuration option {key} is not supported by the local cloud")
        allowed = KNOWN_CONFIGURATION[key]
        if allowed is not None and (not isinstance(value, dict) or set(value) - allowed):
            raise CrawlFailed(f"Crawler configuration {key} {json.dumps(value)} is not supported by the local cloud")
    return configuration


def _role_name(role: str) -> str:
    return role.rsplit("/", 1)[-1] if role else "AWSGlueServiceRole"


def writer_settings(definition: CrawlerDefinition, crawl: Crawl, configuration: dict) -> WriterSettings:
    output = configuration.get("CrawlerOutput", {})
    tables_behavior = (output.get("Tables") or {}).get("AddOrUpdateBehavior")
    partitions_behavior = (output.get("Partitions") or {}).get("AddOrUpdateBehavior")
    if tables_behavior not in (None, "MergeNewColumns") or partitions_behavior not in (None, "InheritFromTable"):
        raise CrawlFailed(
            f"Crawler configuration CrawlerOutput {json.dumps(output)} is not supported by the local cloud"
        )
    return WriterSettings(
        crawler_name=definition.name,
        crawl_id=crawl.crawl_id,
        database=definition.database,
        table_prefix=definition.table_prefix,
        created_by=f"arn:aws:sts::{DEFAULT_ACCOUNT_ID}:assumed-role/{_role_name(definition.role)}/AWS-Crawler",
        update_behavior=definition.schema_change_policy.get("UpdateBehavior") or "UPDATE_IN_DATABASE",
        delete_behavior=definition.schema_change_policy.get("DeleteBehavior") or "DEPRECATE_IN_DATABASE",
        merge_new_columns=tables_behavior == "MergeNewColumns",
        partitions_inherit_from_table=partitions_behavior == "InheritFromTable",
        new_folders_only=definition.recrawl_policy.get("RecrawlBehavior") == "CRAWL_NEW_FOLDERS_ONLY",
    )


class CrawlRunner:
    """Runs one crawl; ``run`` raises nothing and leaves the outcome on the ``Crawl``."""

    def __init__(self, ctx: Context, region: str, definition: CrawlerDefinition, crawl: Crawl) -> None:
        self._ctx, self._region, self._definition, self._crawl = ctx, region, definition, crawl

    def log(self, level: str, text: str) -> None:
        cloudwatch_logs.write(
            lambda: self._ctx.backend("logs", self._region),
            LOG_GROUP,
            self._definition.name,
            [f"[{self._crawl.crawl_id}] {level} : {text}"],
        )

    def run(self) -> None:
        crawl, definition = self._crawl, self._definition
        self.log("BENCHMARK", f"Running Start Crawl for Crawler {definition.name}")
        try:
            crawl.result = self._crawl_targets()
            crawl.state = "COMPLETED"
            result = crawl.result
            self.log(
                "INFO",
                f"Crawler {definition.name} finished: {len(result.tables_created)} tables created, "
                f"{len(result.tables_updated)} updated, {len(result.tables_deleted)} deleted; "
                f"{result.partitions_added} partitions added",
            )
        except CrawlCancelled:
            crawl.state = "STOPPED"
            self.log("INFO", "Crawl stopped by StopCrawler")
        except CrawlFailed as error:
            crawl.state, crawl.error_message = "FAILED", str(error)
            self.log("ERROR", str(error))
        except Exception as error:  # a bug of the local cloud: the crawl fails, the server goes on
            crawl.state, crawl.error_message = "FAILED", f"Internal error of the local cloud's crawler: {error!r}"
            self.log("ERROR", crawl.error_message)
            log.exception("crawl %s of crawler %s failed", crawl.crawl_id, definition.name)
        finally:
            crawl.end_time = datetime.now(timezone.utc)
            self.log("BENCHMARK", f"Crawler has finished running and is in state {crawl.last_crawl_status}")

    def _check_stop(self) -> None:
        if self._crawl.stop_requested.is_set():
            raise CrawlCancelled()

    def _crawl_targets(self) -> WriteResult:
        from moto.glue.exceptions import DatabaseNotFoundException

        definition = self._definition
        if definition.classifiers:
            raise CrawlFailed("Custom classifiers are not supported by the local cloud; remove Classifiers")
        for kind in UNSUPPORTED_TARGETS:
            if definition.targets.get(kind):
                raise CrawlFailed(f"{kind} are not supported by the local cloud; it crawls S3 and catalog targets only")
        if definition.recrawl_policy.get("RecrawlBehavior") == "CRAWL_EVENT_MODE":
            raise CrawlFailed(
                "RecrawlBehavior CRAWL_EVENT_MODE (S3 event notifications) is not supported by the local cloud"
            )
        configuration = _configuration(definition.configuration)
        glue = self._ctx.backend("glue", self._region)
        settings = writer_settings(definition, self._crawl, configuration)
        if definition.targets.get("CatalogTargets"):
            return self._crawl_catalog_targets(glue, settings, configuration)
        try:
            glue.get_database(definition.database)
        except DatabaseNotFoundException:
            raise CrawlFailed(f"Database {definition.database} not found.") from None
        writer = CatalogWriter(glue, settings, lambda text: self.log("INFO", text))
        reader = S3Reader(self._ctx)
        include_locations = []
        for target in definition.targets.get("S3Targets") or []:
            path = S3Path.parse(target.get("Path", ""))
            folder, files = self._crawled_files(reader, path, target)
            include_locations.append(path.url(folder))
            for plan in self._plans(path, folder, files, configuration):
                self._check_stop()
                writer.write(plan)
        self._check_stop()
        writer.retire(include_locations)
        self.log("BENCHMARK", "Finished writing to Catalog")
        return writer.result

    def _plans(
        self, path: S3Path, folder: str, files: list[CrawledFile], configuration: dict, table_level: int | None = None
    ) -> list[TablePlan]:
        grouping = configuration.get("Grouping", {})
        try:
            return plan_tables(
                path.bucket,
                folder,
                files,
                combine_compatible=grouping.get("TableGroupingPolicy") == "CombineCompatibleSchemas",
                table_level=table_level or grouping.get("TableLevelConfiguration"),
            )
        except LayoutError as error:
            raise CrawlFailed(str(error)) from None

    def _crawl_catalog_targets(self, glue: Any, settings: WriterSettings, configuration: dict) -> WriteResult:
        """Crawl the location of each listed table and update that table in place, keeping its name."""
        from moto.glue.exceptions import DatabaseNotFoundException, TableNotFoundException

        targets = self._definition.targets
        if any(targets.get(kind) for kind in targets if kind != "CatalogTargets"):
            raise CrawlFailed("A crawler with CatalogTargets cannot have other targets")
        if settings.delete_behavior != "LOG":
            raise CrawlFailed(
                "The DeleteBehavior of a crawler with CatalogTargets must be LOG, "
                f"not {settings.delete_behavior}"
            )
        reader = S3Reader(self._ctx)
        result = WriteResult()
        for target in targets["CatalogTargets"]:
            database = target.get("DatabaseName", "")
            writer = CatalogWriter(glue, replace(settings, database=database), lambda text: self.log("INFO", text))
            writer.result = result
            for name in target.get("Tables") or []:
                try:
                    table = glue.get_table(database, name).as_dict()
                except (DatabaseNotFoundException, TableNotFoundException):
                    raise CrawlFailed(f"Table {name} of catalog target database {database} not found.") from None
                location = (table.get("StorageDescriptor") or {}).get("Location") or ""
                if not location.startswith("s3://"):
                    raise CrawlFailed(f"Table {database}.{name} has no S3 location to crawl: {location!r}")
                path = S3Path.parse(location if location.endswith("/") else location + "/")
                folder, files = self._crawled_files(reader, path, target)
                plans = self._plans(path, folder, files, configuration, table_level=1 + folder.count("/"))
                if not plans:
                    self.log("INFO", f"No data under {location}; table {name} left as it is")
                    continue
                if len(plans) != 1:
                    raise CrawlFailed(
                        f"The objects under {location} make {len(plans)} tables, not one; "
                        f"table {name} of a catalog target needs compatible objects at one depth"
                    )
                self._check_stop()
                writer.write(plans[0], name=name)
        self.log("BENCHMARK", "Finished writing to Catalog")
        return result

    def _crawled_files(self, reader: S3Reader, path: S3Path, target: dict) -> tuple[str, list[CrawledFile]]:
        try:
            exclusions = Exclusions(target.get("Exclusions") or [])
        except InvalidPattern as error:
            raise CrawlFailed(str(error)) from None
        try:
            folder, objects = reader.list(path)
        except NoSuchBucket:
            raise CrawlFailed(f"The specified bucket does not exist: {path.bucket}") from None
        sample_size = target.get("SampleSize")
        per_folder: dict[str, list] = {}
        files = []
        for stored in objects:
            if exclusions.excludes(stored.key[len(folder) :]):
                continue
            self._check_stop()
            parent = stored.key.rsplit("/", 1)[0]
            sampled = per_folder.setdefault(parent, [])
            if sample_size and len(sampled) >= sample_size:
                schema = sampled[0]  # a file beyond the sample is taken to be like the folder's first
            else:
                schema = classify(reader.read(path.bucket, stored.key))
                sampled.append(schema)
            if schema.classification == UNKNOWN:
                self.log("WARN", f"Skipping {path.url(stored.key)}: no built-in classifier recognizes it")
                continue
            files.append(CrawledFile(stored.key, stored.size, schema))
        return folder, files


def run_in_background(runner: CrawlRunner, on_done: Callable[[], None]) -> threading.Thread:
    def work() -> None:
        try:
            runner.run()
        finally:
            on_done()

    thread = threading.Thread(target=work, name="glue-crawl", daemon=True)
    thread.start()
    return thread
