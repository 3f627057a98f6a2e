"""One background thread per shard of an enabled mapping: gather a batch, deliver it, repeat.

A batch is gathered as https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html describes:
up to BatchSize records, sent as soon as records are available, or, with a batching window, once
the batch is full, the window has passed, or the next record would take the event past 6 MB.
"The next batching window begins as soon as the previous function invocation completes"
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html, batching
behavior), not when a record arrives: after a quiet spell longer than the window, the first
records go at once. Batches of a shard go out one at a time, in sequence-number order. An idle
poller looks for new records five times a second (AWS polls an idle shard once a second); a look
is one dict lookup, so an idle local cloud stays near zero CPU.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from helpers.localcloud.kinesis.batch_delivery import BatchDelivery, Collaborators
from helpers.localcloud.kinesis.batches import MAX_PAYLOAD_BYTES, EventRecord, event_record, payload_size
from helpers.localcloud.kinesis.mapping_calls import LocalServiceCalls
from helpers.localcloud.kinesis.mapping_config import PollingSettings
from helpers.localcloud.kinesis.shard_reader import ShardReader

log = logging.getLogger("localcloud.kinesis_mappings")

IDLE_POLL_SECONDS = 0.2
WINDOW_POLL_SECONDS = 0.05


class ShardPoller:
    def __init__(
        self,
        *,
        settings: PollingSettings,
        reader: ShardReader,
        start_at: int,
        calls: LocalServiceCalls,
        identity_arn: Callable[[], str],
        on_checkpoint: Callable[[str, int], None],
        on_result: Callable[[str], None],
    ) -> None:
        self.settings = settings
        self.reader = reader
        self.position = start_at  # the next sequence number to read
        self._identity_arn = identity_arn
        self._on_checkpoint = on_checkpoint
        self._stop = threading.Event()
        destination = settings.on_failure_destination
        self._delivery = BatchDelivery(
            settings,
            Collaborators(
                invoke=lambda payload: calls.invoke(settings.function_arn, payload),
                send_failure_record=lambda document: calls.send_failure_record(destination or "", document),
                checkpoint=self._checkpoint,
                report=on_result,
                clock=time.time,
                wait=self._stop.wait,
            ),
        )
        self._thread = threading.Thread(
            target=self._run, name=f"esm-{settings.uuid[:8]}-{reader.shard_id}", daemon=True
        )

    @property
    def shard_id(self) -> str:
        return self.reader.shard_id

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop; it finishes an invocation under way first."""
        self._stop.set()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _checkpoint(self, next_sequence_number: int) -> None:
        self.position = next_sequence_number
        self._on_checkpoint(self.shard_id, next_sequence_number)

    def _run(self) -> None:
        try:
            window_opened = time.monotonic()  # no invocation yet: the first window opens with the poller
            while not self._stop.is_set():
                batch = self._gather(window_opened)
                if batch is None:
                    return
                if not batch:
                    self._stop.wait(IDLE_POLL_SECONDS)
                    continue
                if not self._delivery.deliver(batch):
                    return
                window_opened = time.monotonic()
        except Exception:  # a bug must not die silently in a background thread
            log.exception("mapping %s: poller of %s stopped on an error", self.settings.uuid, self.shard_id)

    def _gather(self, window_opened: float) -> list[EventRecord] | None:
        """The next batch ([] when the shard has nothing new), or None when asked to stop; a partial
        batch waits until ``settings.batching_window_seconds`` after ``window_opened``."""
        settings = self.settings
        batch: list[EventRecord] = []
        size = payload_size(batch)
        deadline = window_opened + settings.batching_window_seconds
        identity = ""
        while True:
            for record in self.reader.read(self.position + len(batch), settings.batch_size - len(batch)):
                identity = identity or self._identity_arn()  # looked up only when there is a record
                entry = event_record(record, stream_arn=settings.stream_arn, region=settings.region, identity_arn=identity)
                size += len(entry.json) + (1 if batch else 0)
                if batch and size > MAX_PAYLOAD_BYTES:
                    return batch
                batch.append(entry)
            if not batch or len(batch) >= settings.batch_size or settings.batching_window_seconds == 0:
                return batch
            now = time.monotonic()
            if now >= deadline:
                return batch
            if self._stop.wait(min(WINDOW_POLL_SECONDS, deadline - now)):
                return None
