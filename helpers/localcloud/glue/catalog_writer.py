"""Writing a crawl's tables and partitions into the Data Catalog (moto's Glue backend).

What a crawled table looks like follows tables crawlers create on AWS: ``TableType``
``EXTERNAL_TABLE``, ``Owner`` ``owner``, ``CreatedBy`` the crawler's role session
(``arn:aws:sts::<account>:assumed-role/<role>/AWS-Crawler``), string-typed ``PartitionKeys``, the
input/output formats and SerDe of the classification, and the crawler's table properties
(``classification``, ``compressionType``, ``recordCount`` and ``averageRecordSize`` estimated from
the sample, ``objectCount``, ``sizeKey``, ``typeOfData``, ``UPDATED_BY_CRAWLER``, ``CRAWL_RUN_ID``,
and for CSV ``delimiter``, ``skip.header.line.count``...).

``SchemaChangePolicy`` (https://docs.aws.amazon.com/glue/latest/dg/crawler-schema-changes-prevent.html):
``UpdateBehavior`` ``UPDATE_IN_DATABASE`` (default) rewrites a table whose definition changed,
``LOG`` leaves it as it is (new tables and new partitions are still added); ``DeleteBehavior``
applies to tables this crawler made whose data is gone: ``DEPRECATE_IN_DATABASE`` (default) sets
their ``DEPRECATED_BY_CRAWLER`` property to the time in epoch milliseconds,
``DELETE_FROM_DATABASE`` deletes them (and partitions whose folder is gone), ``LOG`` only logs.
Configuration ``CrawlerOutput``: ``Tables.AddOrUpdateBehavior: MergeNewColumns`` only adds
columns, ``Partitions.AddOrUpdateBehavior: InheritFromTable`` gives partitions the table's
columns. ``RecrawlPolicy CRAWL_NEW_FOLDERS_ONLY`` leaves existing tables and partitions alone and
adds the partitions of new folders.

A table name already taken by a table at another location gets a suffix made of a hash of the
location, as the crawler does when names collide.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from helpers.localcloud.glue.classify import FileSchema
from helpers.localcloud.glue.glue_types import Schema
from helpers.localcloud.glue.table_layout import CrawledFile, PartitionPlan, TablePlan

TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
LAZY_SIMPLE_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
OPEN_CSV_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
RUN_SPECIFIC = ("CRAWL_RUN_ID",)
TABLE_INPUT_MEMBERS = ("Name", "Owner", "Retention", "StorageDescriptor", "PartitionKeys", "TableType", "CreatedBy")  # properties that change on every crawl, not a change of the table


@dataclass(frozen=True)
class WriterSettings:
    crawler_name: str
    crawl_id: str
    database: str
    table_prefix: str
    created_by: str
    update_behavior: str = "UPDATE_IN_DATABASE"
    delete_behavior: str = "DEPRECATE_IN_DATABASE"
    merge_new_columns: bool = False
    partitions_inherit_from_table: bool = False
    new_folders_only: bool = False


@dataclass
class WriteResult:
    tables_created: list[str] = field(default_factory=list)
    tables_updated: list[str] = field(default_factory=list)
    tables_deleted: list[str] = field(default_factory=list)
    partitions_added: int = 0
    partitions_updated: int = 0
    partitions_deleted: int = 0
    written: list[str] = field(default_factory=list)  # every table this crawl describes

    def summary(self) -> dict:
        """ListCrawls' Summary, counted by kind of change."""
        tables = {"ADD": len(self.tables_created), "UPDATE": len(self.tables_updated), "DELETE": len(self.tables_deleted)}
        partitions = {"ADD": self.partitions_added, "UPDATE": self.partitions_updated, "DELETE": self.partitions_deleted}
        counts = {"TABLE": tables, "PARTITION": partitions}
        return {
            kind: {change: {"Count": count} for change, count in changes.items() if count}
            for kind, changes in counts.items()
            if any(changes.values())
        }


def _serde(file_format: FileSchema) -> dict:
    if file_format.classification == "parquet":
        return {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}}
    if file_format.classification == "json":
        return {"SerializationLibrary": JSON_SERDE, "Parameters": {"paths": ",".join(file_format.json_paths)}}
    assert file_format.csv is not None
    if file_format.csv.quoted:
        return {
            "SerializationLibrary": OPEN_CSV_SERDE,
            "Parameters": {"separatorChar": file_format.csv.delimiter, "quoteChar": '"'},
        }
    return {"SerializationLibrary": LAZY_SIMPLE_SERDE, "Parameters": {"field.delim": file_format.csv.delimiter}}


def _json_paths(files: list[CrawledFile]) -> tuple[str, ...]:
    return tuple(sorted({path for crawled in files for path in crawled.schema.json_paths}))


def properties(files: list[CrawledFile], settings: WriterSettings) -> dict[str, str]:
    file_format = files[0].schema
    records = sum(crawled.schema.record_count for crawled in files)
    size = sum(crawled.size for crawled in files)
    sampled_bytes = sum(crawled.schema.average_record_size * crawled.schema.record_count for crawled in files)
    average = round(sampled_bytes / records) if records else 0
    found = {
        "CRAWL_RUN_ID": settings.crawl_id,
        "CrawlerSchemaDeserializerVersion": "1.0",
        "CrawlerSchemaSerializerVersion": "1.0",
        "UPDATED_BY_CRAWLER": settings.crawler_name,
        "averageRecordSize": str(average),
        "classification": file_format.classification,
        "compressionType": file_format.compression,
        "objectCount": str(len(files)),
        "recordCount": str(records),
        "sizeKey": str(size),
        "typeOfData": "file",
    }
    if file_format.csv is not None:
        found.update(
            areColumnsQuoted=str(file_format.csv.quoted).lower(), columnsOrdered="true", delimiter=file_format.csv.delimiter
        )
        if file_format.csv.has_header:
            found["skip.header.line.count"] = "1"
    return dict(sorted(found.items()))


def storage_descriptor(files: list[CrawledFile], location: str, columns: list[dict], parameters: dict) -> dict:
    file_format = files[0].schema
    parquet = file_format.classification == "parquet"
    serde = _serde(file_format)
    if file_format.classification == "json":
        serde["Parameters"]["paths"] = ",".join(_json_paths(files))
    return {
        "Columns": columns,
        "Location": location,
        "InputFormat": PARQUET_INPUT if parquet else TEXT_INPUT,
        "OutputFormat": PARQUET_OUTPUT if parquet else TEXT_OUTPUT,
        "Compressed": file_format.compression != "none",
        "NumberOfBuckets": -1,
        "SerdeInfo": serde,
        "BucketColumns": [],
        "SortColumns": [],
        "Parameters": parameters,
        "StoredAsSubDirectories": False,
    }


def table_input(name: str, plan: TablePlan, columns: list[dict], settings: WriterSettings) -> dict:
    parameters = properties(plan.files, settings)
    return {
        "Name": name,
        "Owner": "owner",
        "Retention": 0,
        "StorageDescriptor": storage_descriptor(plan.files, plan.location, columns, parameters),
        "PartitionKeys": [{"Name": key, "Type": "string"} for key in plan.partition_keys],
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
        "CreatedBy": settings.created_by,
        "IsRegisteredWithLakeFormation": False,
    }


def partition_input(partition: PartitionPlan, table_columns: list[dict], settings: WriterSettings) -> dict:
    parameters = properties(partition.files, settings)
    parameters.pop("UPDATED_BY_CRAWLER")
    parameters.pop("CRAWL_RUN_ID")
    columns = table_columns if settings.partitions_inherit_from_table else _columns(partition.files)
    return {
        "Values": list(partition.values),
        "StorageDescriptor": storage_descriptor(partition.files, partition.location, columns, parameters),
        "Parameters": parameters,
    }


def _columns(files: list[CrawledFile]) -> list[dict]:
    merged = Schema()
    for crawled in files:
        merged = merged.merge(crawled.schema.schema)
    return merged.catalog_columns()


def _without_run_specific(parameters: dict | None) -> dict:
    return {key: value for key, value in (parameters or {}).items() if key not in RUN_SPECIFIC}


def _differs(current: dict, wanted: dict) -> bool:
    for key, value in wanted.items():
        if key == "Parameters":
            if _without_run_specific(current.get(key)) != _without_run_specific(value):
                return True
        elif key == "StorageDescriptor":
            now = dict(current.get(key) or {})
            if _without_run_specific(now.pop("Parameters", None)) != _without_run_specific(value.get("Parameters")):
                return True
            if {k: v for k, v in value.items() if k != "Parameters"} != now:
                return True
        elif current.get(key) != value:
            return True
    return False


def _hashed(name: str, location: str) -> str:
    return f"{name}_{hashlib.md5(location.encode()).hexdigest()[:8]}"


class CatalogWriter:
    def __init__(self, glue_backend: Any, settings: WriterSettings, log: Callable[[str], None]) -> None:
        self._glue, self._settings, self._log = glue_backend, settings, log
        self.result = WriteResult()

    def _existing(self, name: str) -> dict | None:
        from moto.glue.exceptions import TableNotFoundException

        try:
            return self._glue.get_table(self._settings.database, name).as_dict()
        except TableNotFoundException:
            return None

    def _name_for(self, plan: TablePlan) -> str:
        name = self._settings.table_prefix + plan.name
        existing = self._existing(name)
        location = ((existing or {}).get("StorageDescriptor") or {}).get("Location")
        taken_elsewhere = existing is not None and location != plan.location
        if name in self.result.written or taken_elsewhere:
            return _hashed(name, plan.location)
        return name

    def write(self, plan: TablePlan, name: str | None = None) -> None:
        """Create or update the table of ``plan``: the given name (a catalog target's table) or one of its own."""
        settings, database = self._settings, self._settings.database
        name = name or self._name_for(plan)
        self.result.written.append(name)
        existing = self._existing(name)
        columns = plan.schema().catalog_columns()
        if existing is not None and settings.merge_new_columns:
            known = {column["Name"] for column in existing["StorageDescriptor"]["Columns"]}
            columns = existing["StorageDescriptor"]["Columns"] + [c for c in columns if c["Name"] not in known]
        wanted = table_input(name, plan, columns, settings)
        if existing is None:
            self._glue.create_table(database, name, wanted)
            self.result.tables_created.append(name)
            self._log(f"Created table {name} in database {database}")
        elif settings.new_folders_only:
            columns = existing["StorageDescriptor"]["Columns"]
        elif _differs(existing, wanted):
            if settings.update_behavior == "LOG":
                self._log(f"Table {name} has changed; the schema change policy LOG leaves it as it is")
                columns = existing["StorageDescriptor"]["Columns"]
            else:
                self._glue.update_table(database, name, wanted)
                self.result.tables_updated.append(name)
                self._log(f"Updated table {name} in database {database}")
        self._write_partitions(name, plan, columns)

    def _write_partitions(self, name: str, plan: TablePlan, table_columns: list[dict]) -> None:
        settings, database = self._settings, self._settings.database
        table = self._glue.get_table(database, name)
        current = {tuple(partition.values): partition for partition in list(table.partitions.values())}
        for partition in plan.partitions:
            wanted = partition_input(partition, table_columns, settings)
            existing = current.get(partition.values)
            if existing is None:
                self._glue.create_partition(database, name, wanted)
                self.result.partitions_added += 1
            elif settings.new_folders_only or settings.update_behavior == "LOG":
                continue
            elif _differs(existing.partition_input, wanted):
                self._glue.update_partition(database, name, wanted, list(partition.values))
                self.result.partitions_updated += 1
        gone = [values for values in current if values not in {p.values for p in plan.partitions}]
        if gone and settings.delete_behavior == "DELETE_FROM_DATABASE" and not settings.new_folders_only:
            for values in gone:
                self._glue.delete_partition(database, name, list(values))
            self.result.partitions_deleted += len(gone)
        elif gone:
            self._log(f"{len(gone)} partitions of table {name} have no data any more; left in the catalog")

    def retire(self, include_locations: list[str]) -> None:
        """Apply DeleteBehavior to this crawler's tables under its include paths that it no longer finds."""
        settings = self._settings
        database = self._glue.get_database(settings.database)
        for name, table in list(database.tables.items()):
            described = table.as_dict()
            location = (described.get("StorageDescriptor") or {}).get("Location", "")
            parameters = described.get("Parameters") or {}
            if (
                name in self.result.written
                or parameters.get("UPDATED_BY_CRAWLER") != settings.crawler_name
                or "DEPRECATED_BY_CRAWLER" in parameters
                or not any(location.startswith(root) for root in include_locations)
            ):
                continue
            if settings.delete_behavior == "DELETE_FROM_DATABASE":
                self._glue.delete_table(settings.database, name)
                self._log(f"Deleted table {name} from database {settings.database}: its data is gone")
            elif settings.delete_behavior == "DEPRECATE_IN_DATABASE":
                wanted = {key: described[key] for key in TABLE_INPUT_MEMBERS if key in described}
                wanted["Parameters"] = {**parameters, "DEPRECATED_BY_CRAWLER": str(int(time.time() * 1000))}
                self._glue.update_table(settings.database, name, wanted)
                self._log(f"Marked table {name} as deprecated: its data is gone")
            else:
                self._log(f"Table {name} has no data any more; the schema change policy LOG leaves it")
                continue
            self.result.tables_deleted.append(name)
