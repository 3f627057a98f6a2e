"""Read one shard of a Kinesis stream straight from moto's in-memory backend.

This module is the only place that knows moto's Kinesis internals (moto 5.2.5, pinned): a stream
holds ``shards`` by id; a shard holds ``records``, a dict keyed by int sequence numbers that moto
numbers 1, 2, 3... per shard, with no gaps, and never trims. Each ``Record`` keeps ``data`` exactly
as PutRecord(s) received it (base64 text), ``partition_key`` and ``created_at`` (epoch seconds).

Reading in-process is what the event source mapping poller does instead of GetShardIterator +
GetRecords over HTTP: same records, same sequence numbers, without a request per poll (see
``benchmarks/kinesis_mappings.py`` for the measured difference). Lookups are by key only, never by
iterating the dict, so reading is safe while moto's request threads append to the same shard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StreamRecord:
    """One record as an event source mapping sees it."""

    shard_id: str
    sequence_number: int
    partition_key: str
    data_base64: str
    arrival_timestamp: float  # epoch seconds, like ApproximateArrivalTimestamp


class ShardReader:
    """Sequential reads from one shard, by sequence number."""

    def __init__(self, shard: Any) -> None:
        self._shard = shard
        self.shard_id: str = shard.shard_id

    def first_sequence_number(self) -> int:
        """Where TRIM_HORIZON starts: the oldest record still in the shard."""
        return 1

    def next_sequence_number(self) -> int:
        """Where LATEST starts: just after the newest record."""
        records = self._shard.records
        return len(records) + 1  # gapless numbering from 1: the count is the newest number

    def sequence_number_at(self, timestamp: float) -> int:
        """Where AT_TIMESTAMP starts: the first record that arrived at or after ``timestamp``.

        Arrival times only grow along a shard, so a binary search over sequence numbers finds it.
        """
        low, high = 1, self.next_sequence_number()
        while low < high:
            middle = (low + high) // 2
            record = self._shard.records.get(middle)
            if record is None or record.created_at >= timestamp:
                high = middle
            else:
                low = middle + 1
        return low

    def read(self, from_sequence_number: int, limit: int) -> list[StreamRecord]:
        """Up to ``limit`` records from ``from_sequence_number`` on, in order."""
        records = self._shard.records
        out: list[StreamRecord] = []
        sequence_number = from_sequence_number
        while len(out) < limit:
            record = records.get(sequence_number)
            if record is None:
                break
            out.append(
                StreamRecord(
                    shard_id=self.shard_id,
                    sequence_number=sequence_number,
                    partition_key=record.partition_key,
                    data_base64=record.data,
                    arrival_timestamp=record.created_at,
                )
            )
            sequence_number += 1
        return out


def find_stream(kinesis_backend: Any, stream_arn: str) -> Any | None:
    """moto's stream object for an ARN, or None when there is no such stream."""
    name = stream_arn.split(":stream/", 1)[-1]
    stream = kinesis_backend.streams.get(name)
    return stream if stream is not None and stream.arn == stream_arn else None


def shard_readers(stream: Any) -> list[ShardReader]:
    """A reader for every shard of the stream, open or closed, oldest first."""
    return [ShardReader(shard) for shard in list(stream.shards.values())]
