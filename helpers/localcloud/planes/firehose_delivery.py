"""Amazon Data Firehose's data plane: delivery streams that actually deliver.

moto 5.2.5 stores delivery streams but delivers nothing from a Kinesis source and nothing to
Redshift, and writes one S3 object per PutRecord call, unbuffered. This plane answers the calls
that start and feed delivery, and leaves the rest of the API (DescribeDeliveryStream,
ListDeliveryStreams, UpdateDestination, tags, encryption) to moto, whose stored configuration the
delivery threads read back, so that UpdateDestination takes effect on the next object:

* CreateDeliveryStream: checks what the local cloud can deliver (``firehose_config``), stores the
  stream in moto with the defaults AWS fills in (buffering hints 5 MiB / 300 s, retry duration
  3600 s...), shows it CREATING and then ACTIVE, and starts its delivery (``firehose_stream``);
  a Kinesis source is read from the stream's DeliveryStartTimestamp, its creation time.
* PutRecord / PutRecordBatch: only for DirectPut streams that are ACTIVE ("When a Kinesis data
  stream is configured as the source ... the PutRecord and PutRecordBatch operations are
  disabled"); limits of the API reference: 1,000 KiB per record, 500 records and 4 MiB per batch.
  Records are buffered, not written at once.
* DeleteDeliveryStream: stops delivery; records still buffered are not delivered, as AWS gives
  "no guarantees" for them.

Not emulated: throughput quotas (ServiceUnavailableException), CloudWatch metrics, data
transformation, format conversion, dynamic partitioning, destinations other than S3 and Redshift
(refused at creation). https://docs.aws.amazon.com/firehose/latest/APIReference/
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import secrets
import threading
import time
from typing import Any

from moto.core.exceptions import ServiceException
from werkzeug.wrappers import Request, Response

from helpers.localcloud.plane import DEFAULT_ACCOUNT_ID, Context, DataPlane, amz_target, json_error, signing_scope
from helpers.localcloud.firehose.buffer import BufferedRecord
from helpers.localcloud.firehose.config import FirehoseError, check_create, invalid, with_defaults
from helpers.localcloud.firehose.stream import StreamRuntime
from helpers.localcloud.kinesis.shard_reader import find_stream

log = logging.getLogger("localcloud.firehose")

TARGET_PREFIX = "Firehose_20150804."
OWN_ACTIONS = ("CreateDeliveryStream", "DeleteDeliveryStream", "PutRecord", "PutRecordBatch")
CONTENT_TYPE = "application/x-amz-json-1.1"
MAX_RECORD_BYTES = 1_024_000  # "The maximum size of a record sent to Firehose, before base64-encoding, is 1,000 KiB."
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024


def _record_id() -> str:
    return secrets.token_urlsafe(42)


class FirehoseDelivery(DataPlane):
    name = "firehose"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.runtimes: dict[tuple[str, str], StreamRuntime] = {}
        self.lock = threading.Lock()

    def handles(self, request: Request) -> bool:
        target = amz_target(request)
        return target.startswith(TARGET_PREFIX) and target[len(TARGET_PREFIX) :] in OWN_ACTIONS

    def handle(self, request: Request) -> Response:
        action = amz_target(request)[len(TARGET_PREFIX) :]
        region = signing_scope(request)[0] or "us-east-1"
        try:
            try:
                body = json.loads(request.get_data() or b"{}")
            except ValueError as error:
                raise FirehoseError("SerializationException", "The request body is not valid JSON") from error
            result = getattr(self, _method_name(action))(region, body)
        except FirehoseError as error:
            return json_error(400, error.error_type, error.message)
        except ServiceException as error:  # moto's own checks (name in use, limits...)
            return json_error(400, error.code, error.message)
        return Response(json.dumps(result), content_type=CONTENT_TYPE)

    def stop(self) -> None:
        with self.lock:
            runtimes, self.runtimes = list(self.runtimes.values()), {}
        for runtime in runtimes:
            runtime.stop()

    # -- the operations -------------------------------------------------------------------------

    def create_delivery_stream(self, region: str, body: dict) -> dict:
        check_create(body, lambda arn: find_stream(self.ctx.backend("kinesis", arn.split(":")[3]), arn) is not None)
        body = with_defaults(body)
        name = body.get("DeliveryStreamName", "")
        backend = self.ctx.backend("firehose", region)
        with self.lock:
            arn = backend.create_delivery_stream(
                region,
                name,
                body.get("DeliveryStreamType", "DirectPut"),
                body.get("KinesisStreamSourceConfiguration"),
                body.get("DeliveryStreamEncryptionConfigurationInput"),
                body.get("S3DestinationConfiguration"),
                body.get("ExtendedS3DestinationConfiguration"),
                body.get("RedshiftDestinationConfiguration"),
                None,  # Elasticsearch
                None,  # Splunk
                None,  # HttpEndpoint
                None,  # Snowflake
                None,  # Iceberg
                body.get("Tags"),
            )
            created = time.time()
            moto_stream = backend.delivery_streams[name]
            moto_stream.delivery_stream_status = "CREATING"
            moto_stream.delivery_stream_encryption_configuration = _encryption(body.get("DeliveryStreamEncryptionConfigurationInput"))
            kinesis_arn = None
            if moto_stream.source:
                kinesis_arn = moto_stream.source["KinesisStreamARN"]
                moto_stream.source = {**moto_stream.source, "DeliveryStartTimestamp": dt.datetime.fromtimestamp(created, dt.timezone.utc)}
            runtime = StreamRuntime(self.ctx, name=name, region=region, arn=arn, created=created, kinesis_arn=kinesis_arn)
            self.runtimes[(region, name)] = runtime
        runtime.start()
        log.info("firehose %s created (%s)", name, "Kinesis source" if kinesis_arn else "DirectPut")
        return {"DeliveryStreamARN": arn}

    def delete_delivery_stream(self, region: str, body: dict) -> dict:
        name = body.get("DeliveryStreamName", "")
        self.ctx.backend("firehose", region).delete_delivery_stream(name)
        with self.lock:
            runtime = self.runtimes.pop((region, name), None)
        if runtime is not None:
            runtime.stop()
        return {}

    def put_record(self, region: str, body: dict) -> dict:
        runtime = self._direct_put_stream(region, body.get("DeliveryStreamName", ""))
        record = _record(body.get("Record"))
        runtime.buffer.add([record])
        return {"RecordId": _record_id(), "Encrypted": False}

    def put_record_batch(self, region: str, body: dict) -> dict:
        runtime = self._direct_put_stream(region, body.get("DeliveryStreamName", ""))
        entries = body.get("Records")
        if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_BATCH_RECORDS:
            raise FirehoseError(
                "ValidationException",
                f"1 validation error detected: Value at 'records' failed to satisfy constraint: "
                f"Member must have length between 1 and {MAX_BATCH_RECORDS}",
            )
        records = [_record(entry) for entry in entries]
        if sum(len(r.data) for r in records) > MAX_BATCH_BYTES:
            raise invalid(f"The total size of the records in a PutRecordBatch request exceeds {MAX_BATCH_BYTES} bytes (4 MiB).")
        runtime.buffer.add(records)
        return {"FailedPutCount": 0, "Encrypted": False, "RequestResponses": [{"RecordId": _record_id()} for _ in records]}

    def _direct_put_stream(self, region: str, name: str) -> StreamRuntime:
        with self.lock:
            runtime = self.runtimes.get((region, name))
        moto_stream = self.ctx.backend("firehose", region).delivery_streams.get(name)
        if runtime is None or moto_stream is None:
            raise FirehoseError("ResourceNotFoundException", f"Firehose {name} under account {DEFAULT_ACCOUNT_ID} not found.")
        if runtime.kinesis_arn:
            raise invalid("This operation is not permitted on KinesisStreamAsSource delivery stream type.")
        if not runtime.active:
            raise FirehoseError(
                "ResourceNotFoundException",
                f"Firehose {name} under account {DEFAULT_ACCOUNT_ID} is not ACTIVE (its status is CREATING); "
                "wait until DescribeDeliveryStream shows ACTIVE.",
            )
        return runtime


def _method_name(action: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in action).lstrip("_")


def _record(entry: Any) -> BufferedRecord:
    if not isinstance(entry, dict) or "Data" not in entry:
        raise FirehoseError("ValidationException", "1 validation error detected: Value null at 'record.data' failed to satisfy constraint: Member must not be null")
    try:
        data = base64.b64decode(entry["Data"], validate=True)
    except (binascii.Error, TypeError) as error:
        raise FirehoseError("SerializationException", "Record Data is not valid base64") from error
    if len(data) > MAX_RECORD_BYTES:
        raise FirehoseError(
            "ValidationException",
            f"1 validation error detected: Value at 'record.data' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_RECORD_BYTES}",
        )
    return BufferedRecord(data, time.time())


def _encryption(requested: dict | None) -> dict:
    """DeliveryStreamEncryptionConfiguration as DescribeDeliveryStream shows it."""
    if not requested:
        return {"Status": "DISABLED"}
    return {**requested, "Status": "ENABLED"}
