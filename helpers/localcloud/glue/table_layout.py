"""Which objects under an include path make a table, and which folders are its partitions.

Follows "How does a crawler determine when to create partitions?"
(https://docs.aws.amazon.com/glue/latest/dg/crawler-s3-folder-table-partition.html) and the
knowledge-center article "How does the AWS Glue crawler detect the schema?":

* a folder is the root of one table when all the objects below it are compatible (same format,
  compression and CSV dialect), sit at the same depth, and the schemas of its subfolders (and of
  the objects directly in it) are similar: more than 70% of them share at least 70% of the columns
  of all of them together, and there are at most 5 distinct schemas. The folders below the root are
  then partitions: ``key=value`` folders give the partition key ``key``, other folders
  ``partition_0``, ``partition_1``...; keys are typed ``string``;
* otherwise each subfolder is looked at in turn, and each object directly in the folder becomes a
  table of its own (named after the object, ``orders.csv`` -> ``orders_csv``);
* ``CombineCompatibleSchemas`` (Configuration ``Grouping.TableGroupingPolicy``,
  https://docs.aws.amazon.com/glue/latest/dg/crawler-grouping-policy.html) skips the similarity
  test; ``Grouping.TableLevelConfiguration`` (the bucket is level 1) puts the roots at that level.

A table is named after its root folder (the bucket for the bucket root), lowercased, with every
character other than ``a-z``, ``0-9`` and ``_`` replaced by ``_``: ``aws-project/kinesis-stream/``
gives ``kinesis_stream``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from helpers.localcloud.glue.classify import FileSchema
from helpers.localcloud.glue.glue_types import Schema

SIMILAR_COLUMNS = 0.7  # a part shares at least this share of all the columns
PARTITION_THRESHOLD = 0.7  # more than this share of the parts must be similar
MAX_DISTINCT_SCHEMAS = 5
HIVE_PARTITION = re.compile(r"(?P<key>[^=]+)=(?P<value>.*)")


@dataclass(frozen=True)
class CrawledFile:
    key: str
    size: int
    schema: FileSchema


@dataclass
class PartitionPlan:
    values: tuple[str, ...]
    location: str
    files: list[CrawledFile]


@dataclass
class TablePlan:
    name: str  # without the crawler's TablePrefix
    location: str
    files: list[CrawledFile]
    partition_keys: list[str] = field(default_factory=list)
    partitions: list[PartitionPlan] = field(default_factory=list)

    @property
    def format(self) -> FileSchema:
        return self.files[0].schema

    def schema(self, files: list[CrawledFile] | None = None) -> Schema:
        merged = Schema()
        for crawled in files if files is not None else self.files:
            merged = merged.merge(crawled.schema.schema)
        return merged


@dataclass
class _Folder:
    prefix: str  # the key prefix, "" or ending with "/"
    name: str
    files: list[CrawledFile] = field(default_factory=list)
    children: dict[str, _Folder] = field(default_factory=dict)

    def all_files(self) -> list[CrawledFile]:
        found = list(self.files)
        for child in self.children.values():
            found += child.all_files()
        return found


class LayoutError(ValueError):
    """The crawler's configuration asks for a layout the objects cannot have."""


def table_name(text: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", text.lower())


def _tree(bucket: str, folder: str, files: list[CrawledFile]) -> _Folder:
    root_name = folder.rstrip("/").rsplit("/", 1)[-1] if folder else bucket
    root = _Folder(folder, root_name)
    for crawled in files:
        node = root
        parts = crawled.key[len(folder) :].split("/")
        for part in parts[:-1]:
            node = node.children.setdefault(part, _Folder(f"{node.prefix}{part}/", part))
        node.files.append(crawled)
    return root


def _depths(node: _Folder, files: list[CrawledFile]) -> set[int]:
    return {crawled.key[len(node.prefix) :].count("/") for crawled in files}


def _similar(parts: list[list[CrawledFile]]) -> bool:
    if len(parts) <= 1:
        return True
    column_sets = []
    for part in parts:
        merged = Schema()
        for crawled in part:
            merged = merged.merge(crawled.schema.schema)
        column_sets.append(merged.names())
    everything = frozenset().union(*column_sets)
    if not everything:
        return True
    similar = sum(1 for columns in column_sets if len(columns) / len(everything) >= SIMILAR_COLUMNS)
    return similar / len(parts) > PARTITION_THRESHOLD and len(set(column_sets)) <= MAX_DISTINCT_SCHEMAS


def _is_table_root(node: _Folder, combine_compatible: bool) -> bool:
    files = node.all_files()
    if len({crawled.schema.compatibility for crawled in files}) != 1 or len(_depths(node, files)) != 1:
        return False
    if combine_compatible:
        return True
    parts = [child.all_files() for child in node.children.values()] + [[crawled] for crawled in node.files]
    return _similar(parts) and all(_is_table_root(child, False) for child in node.children.values())


def _roots(node: _Folder, combine_compatible: bool) -> list[_Folder | CrawledFile]:
    if not node.all_files():
        return []
    if _is_table_root(node, combine_compatible):
        return [node]
    found: list[_Folder | CrawledFile] = []
    for child in node.children.values():
        found += _roots(child, combine_compatible)
    return found + list(node.files)


def _at_level(node: _Folder, depth: int) -> list[_Folder]:
    if depth == 0:
        return [node]
    return [found for child in node.children.values() for found in _at_level(child, depth - 1)]


def _partition_value(folder: str, key: str) -> str:
    """``2010`` for ``year=2010`` under the key ``year``; the folder name under ``partition_N``."""
    match = HIVE_PARTITION.fullmatch(folder)
    return match.group("value") if match and match.group("key").lower() == key else folder


def _partitioned(bucket: str, node: _Folder) -> TablePlan:
    files = node.all_files()
    depth = _depths(node, files).pop()
    plan = TablePlan(table_name(node.name), f"s3://{bucket}/{node.prefix}", files)
    if depth == 0:
        return plan
    folders_by_level: list[set[str]] = [set() for _ in range(depth)]
    by_partition: dict[tuple[str, ...], list[CrawledFile]] = {}
    for crawled in files:
        folders = tuple(crawled.key[len(node.prefix) :].split("/")[:-1])
        for level, folder in enumerate(folders):
            folders_by_level[level].add(folder)
        by_partition.setdefault(folders, []).append(crawled)
    for level, folders in enumerate(folders_by_level):
        keys = {match.group("key") if (match := HIVE_PARTITION.fullmatch(folder)) else None for folder in folders}
        key = keys.pop() if len(keys) == 1 else None
        plan.partition_keys.append(key.lower() if key else f"partition_{level}")
    for folders, partition_files in sorted(by_partition.items()):
        values = tuple(_partition_value(folder, key) for folder, key in zip(folders, plan.partition_keys, strict=True))
        location = f"s3://{bucket}/{node.prefix}{'/'.join(folders)}/"
        plan.partitions.append(PartitionPlan(values, location, partition_files))
    return plan


def plan_tables(
    bucket: str,
    folder: str,
    files: list[CrawledFile],
    combine_compatible: bool = False,
    table_level: int | None = None,
) -> list[TablePlan]:
    """The tables the objects under ``s3://bucket/folder`` make."""
    root = _tree(bucket, folder, files)
    if table_level is not None:
        include_level = 1 + folder.count("/")
        if table_level < include_level:
            raise LayoutError(
                f"TableLevelConfiguration {table_level} is above the include path s3://{bucket}/{folder} "
                f"(level {include_level})"
            )
        candidates: list[_Folder | CrawledFile] = []
        for node in _at_level(root, table_level - include_level):
            candidates += [node] if _is_table_root(node, True) else _roots(node, combine_compatible)
    else:
        candidates = _roots(root, combine_compatible)
    plans = []
    for candidate in candidates:
        if isinstance(candidate, CrawledFile):
            name = candidate.key.rsplit("/", 1)[-1]
            plans.append(TablePlan(table_name(name), f"s3://{bucket}/{candidate.key}", [candidate]))
        else:
            plans.append(_partitioned(bucket, candidate))
    return plans
