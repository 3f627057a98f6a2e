"""A statement's outcome and its result set, served in pages as GetStatementResult does.

The rows stay in the Arrow table DuckDB produced; a page is converted to Data API records when it
is asked for. AWS cuts the result into pages by size, not by a row count the caller can choose
("Redshift Data API will split in parts automatically considering ... volume"), so pages here hold
as many rows as fit in about ``PAGE_BYTES`` of JSON, at least one row each.
https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_GetStatementResult.html
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from helpers.localcloud.warehouse import redshift_types
from helpers.localcloud.warehouse.redshift_types import RedshiftType

PAGE_BYTES = 1_000_000
CONVERT_CHUNK_ROWS = 256


@dataclass(frozen=True)
class ResultColumn:
    name: str
    type: RedshiftType


@dataclass
class StatementOutcome:
    """What running one statement produced."""

    query_type: str  # SYS_QUERY_HISTORY.query_type
    billable: bool  # whether it wakes the workgroup's compute (see ``usage``)
    rows_affected: int = 0  # ResultRows of a statement without a result set
    columns: list[ResultColumn] | None = None  # None: no result set
    table: Any = None  # a pyarrow.Table holding the rows of the result set

    @property
    def has_result_set(self) -> bool:
        return self.columns is not None

    @property
    def result_rows(self) -> int:
        return self.table.num_rows if self.has_result_set else self.rows_affected

    @property
    def result_bytes(self) -> int:
        return int(self.table.nbytes) if self.has_result_set else 0


class ResultPages:
    """The result set of a finished statement, cut into pages."""

    def __init__(self, columns: list[ResultColumn], table: Any) -> None:
        self.columns = columns
        self.table = table

    @property
    def total_rows(self) -> int:
        return self.table.num_rows

    def column_metadata(self) -> list[dict]:
        return [column.type.column_metadata(column.name) for column in self.columns]

    def _rows(self, offset: int, count: int) -> list[list[Any]]:
        chunk = self.table.slice(offset, count)
        columns = [chunk.column(i).to_pylist() for i in range(chunk.num_columns)]
        return [list(values) for values in zip(*columns)]

    def records(self, offset: int) -> tuple[list[list[dict]], int | None]:
        """The page of typed records starting at row ``offset``, and where the next page starts."""
        records: list[list[dict]] = []
        size = 0
        position = offset
        while position < self.total_rows and size < PAGE_BYTES:
            for row in self._rows(position, CONVERT_CHUNK_ROWS):
                record = [redshift_types.field(value, column.type) for value, column in zip(row, self.columns)]
                size += len(json.dumps(record))
                records.append(record)
                position += 1
                if size >= PAGE_BYTES:
                    break
        return records, (position if position < self.total_rows else None)

    def csv(self, offset: int) -> tuple[str, int | None]:
        """The page of CSV text (GetStatementResultV2) starting at row ``offset``; column names are
        in the ColumnMetadata, not in the text."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        position = offset
        while position < self.total_rows and buffer.tell() < PAGE_BYTES:
            for row in self._rows(position, CONVERT_CHUNK_ROWS):
                writer.writerow(
                    ["" if value is None else redshift_types.text_value(value, column.type) for value, column in zip(row, self.columns)]
                )
                position += 1
                if buffer.tell() >= PAGE_BYTES:
                    break
        return buffer.getvalue(), (position if position < self.total_rows else None)
