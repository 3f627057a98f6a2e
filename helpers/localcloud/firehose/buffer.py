"""A Firehose stream's buffer: records wait until the buffer size or the buffer interval is reached.

"Firehose buffers incoming data before it delivers it ... The condition satisfied first triggers
data delivery" (basic-deliver.html, "Data delivery frequency"). Sizes are in MiB; the interval
runs from the arrival of the oldest record in the buffer. An object holds at most the buffer size
(whole records: a record larger than the size goes alone), so a burst of records becomes several
objects of about the buffer size, and what is left waits for its own size or interval.
IntervalInSeconds 0 is zero buffering: records go out as soon as they arrive.
https://docs.aws.amazon.com/firehose/latest/APIReference/API_BufferingHints.html
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

MIB = 1024 * 1024
DEFAULT_SIZE_MB = 5
DEFAULT_INTERVAL_SECONDS = 300


@dataclass(frozen=True)
class BufferingHints:
    size_mb: int = DEFAULT_SIZE_MB
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS

    @classmethod
    def from_config(cls, hints: dict | None) -> BufferingHints:
        hints = hints or {}
        return cls(hints.get("SizeInMBs", DEFAULT_SIZE_MB), hints.get("IntervalInSeconds", DEFAULT_INTERVAL_SECONDS))

    @property
    def size_bytes(self) -> int:
        return self.size_mb * MIB


@dataclass(frozen=True)
class BufferedRecord:
    data: bytes
    arrival: float  # epoch seconds (ApproximateArrivalTimestamp)


class DeliveryBuffer:
    """Thread-safe: PutRecord threads add, the stream's delivery thread takes."""

    def __init__(self) -> None:
        self._records: list[BufferedRecord] = []
        self._size = 0
        self._lock = threading.Lock()

    def add(self, records: list[BufferedRecord]) -> None:
        with self._lock:
            self._records.extend(records)
            self._size += sum(len(r.data) for r in records)

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def take_due(self, hints: BufferingHints, now: float) -> list[BufferedRecord]:
        """The records of the next object if the size or interval is reached, else []."""
        with self._lock:
            if not self._records:
                return []
            full = self._size >= hints.size_bytes
            expired = now - self._records[0].arrival >= hints.interval_seconds
            if not (full or expired):
                return []
            count, size = 0, 0
            for record in self._records:
                if count and size + len(record.data) > hints.size_bytes:
                    break
                count += 1
                size += len(record.data)
            taken, self._records = self._records[:count], self._records[count:]
            self._size -= size
            return taken

    def give_back(self, records: list[BufferedRecord]) -> None:
        """Records whose delivery failed go back to the front, to be delivered first."""
        with self._lock:
            self._records[:0] = records
            self._size += sum(len(r.data) for r in records)

    def clear(self) -> int:
        with self._lock:
            dropped = len(self._records)
            self._records, self._size = [], 0
            return dropped
