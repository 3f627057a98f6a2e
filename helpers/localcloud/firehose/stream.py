"""One Firehose stream at work: read the source, buffer, write S3 objects, COPY into Redshift.

Two threads per stream:

* delivery: every ``TICK_SECONDS`` it reads new records of a Kinesis source (every shard, from the
  stream's DeliveryStartTimestamp on: "Firehose starts reading data from the LATEST position of
  your Kinesis stream", writing-with-kinesis-streams.html; AWS reads each shard once a second),
  takes from the buffer what the buffering hints make due, and writes each batch as one S3 object
  (concatenated as put, "without any delimiters"; gzipped for CompressionFormat GZIP). For a
  Redshift destination the object is queued for loading. An S3 write that fails (say, the bucket
  is gone) puts the records back and is retried every ``S3_RETRY_SECONDS`` (AWS: for 24 hours).
* loader (Redshift only): takes every queued object ("If there is still data to copy, Firehose
  issues a new COPY command as soon as the previous COPY command is successfully finished"),
  writes their manifest under ``manifests/`` and runs the COPY (``firehose.redshift``). A failed
  COPY is retried, waiting 1, 2, 4... seconds (at most 5 minutes) between attempts, for
  RetryOptions.DurationInSeconds from the first attempt; then the batch is skipped and its
  manifest written under ``errors/`` "which you can use for manual backfill" (basic-deliver.html).

Delivery errors go to the stream's log (and to the CloudWatch Logs group and stream of
CloudWatchLoggingOptions, when enabled and they exist) with Firehose's error codes.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from helpers.localcloud.plane import Context
from helpers.localcloud.firehose import names as firehose_names
from helpers.localcloud.firehose.buffer import BufferedRecord, DeliveryBuffer
from helpers.localcloud.firehose.config import Destination, destination_of
from helpers.localcloud.firehose.redshift import DeliveryError, RedshiftLoader, copy_statement
from helpers.localcloud.kinesis.shard_reader import find_stream, shard_readers
from helpers.localcloud.warehouse.s3_objects import NoSuchBucket, S3Objects

log = logging.getLogger("localcloud.firehose")

TICK_SECONDS = 0.1
CREATING_SECONDS = 1.0  # CREATING -> ACTIVE (minutes on AWS)
S3_RETRY_SECONDS = 5.0
MAX_RETRY_WAIT_SECONDS = 300.0
KINESIS_READ_LIMIT = 10000  # GetRecords returns at most 10,000 records


@dataclass(frozen=True)
class DeliveredObject:
    bucket: str
    key: str


def utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


class StreamRuntime:
    def __init__(self, ctx: Context, *, name: str, region: str, arn: str, created: float, kinesis_arn: str | None) -> None:
        self.ctx = ctx
        self.name = name
        self.region = region
        self.arn = arn
        self.created = created  # epoch seconds: also the DeliveryStartTimestamp of a Kinesis source
        self.kinesis_arn = kinesis_arn
        self.buffer = DeliveryBuffer()
        self.store = S3Objects(ctx)
        self.loader = RedshiftLoader(ctx)
        self._checkpoints: dict[str, int] = {}  # shard id -> next sequence number
        self._kinesis_stream: Any = None
        self._loads: queue.Queue[DeliveredObject] = queue.Queue()
        self._s3_retry_at = 0.0
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._guarded(self._deliver), name=f"firehose-{name}", daemon=True),
            threading.Thread(target=self._guarded(self._load), name=f"firehose-{name}-copy", daemon=True),
        ]

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return time.time() - self.created >= CREATING_SECONDS

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        dropped = self.buffer.clear() + self._loads.qsize()
        if dropped:
            log.warning("firehose %s stopped with %d buffered records or objects not delivered", self.name, dropped)

    def _guarded(self, loop: Any) -> Any:
        def run() -> None:
            try:
                loop()
            except Exception:  # a bug must not die silently in a background thread
                log.exception("firehose %s: %s stopped on an error", self.name, loop.__name__)

        return run

    def _moto_stream(self) -> Any:
        return self.ctx.backend("firehose", self.region).delivery_streams.get(self.name)

    # -- reading, buffering, writing S3 objects ---------------------------------------------------

    def _deliver(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            moto_stream = self._moto_stream()
            if moto_stream is None:
                return  # deleted
            if not self.active:
                continue
            moto_stream.delivery_stream_status = "ACTIVE"
            if self.kinesis_arn:
                self._read_kinesis()
            if time.time() < self._s3_retry_at:
                continue
            destination = destination_of(moto_stream.destinations[0])
            while True:
                records = self.buffer.take_due(destination.hints, time.time())
                if not records:
                    break
                if not self._write_object(records, destination, moto_stream.version_id):
                    break

    def _read_kinesis(self) -> None:
        stream = find_stream(self.ctx.backend("kinesis", self.kinesis_arn.split(":")[3]), self.kinesis_arn)
        if stream is None:
            return  # Firehose keeps retrying DescribeStream/GetRecords until the stream is back
        if stream is not self._kinesis_stream:
            self._kinesis_stream, self._checkpoints = stream, {}  # deleted and created again: start over
        for reader in shard_readers(stream):
            position = self._checkpoints.get(reader.shard_id)
            if position is None:
                position = reader.sequence_number_at(self.created)
            records = reader.read(position, KINESIS_READ_LIMIT)
            if records:
                self.buffer.add([BufferedRecord(base64.b64decode(r.data_base64), r.arrival_timestamp) for r in records])
                position = records[-1].sequence_number + 1
            self._checkpoints[reader.shard_id] = position

    def _write_object(self, records: list[BufferedRecord], destination: Destination, version: str) -> bool:
        oldest = utc(records[0].arrival)
        key = firehose_names.data_key(destination.prefix, self.name, version, oldest, destination.extension)
        data = b"".join(record.data for record in records)
        if destination.compression == "GZIP":
            data = gzip.compress(data)
        try:
            self.store.put(destination.bucket, key, data)
        except NoSuchBucket:
            self.buffer.give_back(records)
            self._s3_retry_at = time.time() + S3_RETRY_SECONDS
            self._report(destination, version, "S3Delivery", DeliveryError(
                "S3.NoSuchBucket", "The specified bucket does not exist. Create the bucket or use a different bucket that does exist.",
                f"bucket {destination.bucket}",
            ))
            return False
        log.info("firehose %s: %d records (%d bytes) to s3://%s/%s", self.name, len(records), len(data), destination.bucket, key)
        if destination.kind == "Redshift":
            self._loads.put(DeliveredObject(destination.bucket, key))
        return True

    # -- COPY into Redshift -----------------------------------------------------------------------

    def _load(self) -> None:
        while not self._stop.is_set():
            try:
                batch = [self._loads.get(timeout=0.5)]
            except queue.Empty:
                continue
            while True:
                try:
                    batch.append(self._loads.get_nowait())
                except queue.Empty:
                    break
            moto_stream = self._moto_stream()
            if moto_stream is None:
                return
            destination = destination_of(moto_stream.destinations[0])
            if destination.redshift is not None:
                self._copy(batch, destination, moto_stream.version_id)

    def _copy(self, batch: list[DeliveredObject], destination: Destination, version: str) -> None:
        settings = destination.redshift
        now = dt.datetime.now(dt.timezone.utc)
        manifest = json.dumps({"entries": [{"url": f"s3://{o.bucket}/{o.key}", "mandatory": True} for o in batch]}).encode()
        manifest_key = firehose_names.manifest_key(destination.prefix, self.name, version, now)
        self.store.put(destination.bucket, manifest_key, manifest)
        sql = copy_statement(settings, destination.bucket, manifest_key)
        started, wait = time.monotonic(), 1.0
        deadline = started + settings.retry_seconds
        while True:
            try:
                self.loader.run_copy(settings, sql)
                log.info("firehose %s: COPY of %d objects into %s done", self.name, len(batch), settings.table)
                return
            except DeliveryError as error:
                self._report(destination, version, "RedshiftDelivery", error)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if self._stop.wait(min(wait, remaining)):
                log.warning("firehose %s: stopped while retrying the COPY of s3://%s/%s", self.name, destination.bucket, manifest_key)
                return
            wait = min(wait * 2, MAX_RETRY_WAIT_SECONDS)
        error_key = firehose_names.error_manifest_key(destination.error_prefix, destination.prefix, self.name, version, now)
        self.store.put(destination.bucket, error_key, manifest)
        log.warning("firehose %s: COPY given up after %.0f s; manifest for backfill: s3://%s/%s",
                    self.name, time.monotonic() - started, destination.bucket, error_key)

    # -- errors -------------------------------------------------------------------------------------

    def _report(self, destination: Destination, version: str, delivery: str, error: DeliveryError) -> None:
        log.warning("firehose %s: %s", self.name, error)
        if not (destination.log_group and destination.log_stream):
            return
        message = {
            "deliveryStreamARN": self.arn,
            "destination": destination.redshift.jdbc_url if delivery == "RedshiftDelivery" and destination.redshift else f"arn:aws:s3:::{destination.bucket}",
            "deliveryStreamVersionId": int(version),
            "message": f"{error.message} {error.detail}".strip(),
            "errorCode": error.code,
        }
        event = {"timestamp": int(time.time() * 1000), "message": json.dumps(message)}
        try:
            self.ctx.backend("logs", self.region).put_log_events(destination.log_group, destination.log_stream, [event])
        except Exception as failure:  # the group or stream does not exist: AWS drops the log too
            log.warning("firehose %s: cannot write to CloudWatch Logs %s/%s: %s", self.name, destination.log_group, destination.log_stream, failure)
