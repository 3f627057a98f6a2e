"""Kinesis -> Lambda event source mappings: the control plane as AWS serves it, and the pollers.

AWS: https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html. moto 5.2.5 stores mappings
but, on every PutRecord(s), pushes each record to the function synchronously, one at a time, inside
the put request (``Stream.put_record`` walks ``stream.lambda_event_source_mappings``). This plane
owns every mapping whose source is a Kinesis stream instead:

- Create/Update/Delete/Get/ListEventSourceMappings (and the mapping's tags) for Kinesis sources
  are answered here and never reach moto. moto's per-stream mapping registry therefore stays
  empty and its synchronous push never fires: no fork, no patch. Mappings of other sources (SQS,
  DynamoDB Streams) still go to moto, and ListEventSourceMappings shows both;
- a mapping moves Creating -> Enabled (or Disabled), Enabling/Disabling/Updating -> Enabled or
  Disabled, Deleting -> gone, as on AWS, driven by one supervisor thread started in ``start()``;
- an enabled mapping runs one poller thread per shard (``kinesis_shard_poller``), each with its
  own checkpoint, so several mappings on one stream each see every record.

Resharding is only partly emulated, because moto 5.2.5 does not reshard as Kinesis does: after a
split or merge it keeps routing new records to the closed parent shards, and a merge copies the
parents' records into the new shard. So every shard, closed or not, is polled for good (no record
is lost), shards that appear later are read from their start, and AWS's "parents before children"
order is not reproduced: records that moto copied into a merged shard are delivered a second time.

ParallelizationFactor is accepted and reported, but each shard is processed one batch at a time
(the order AWS guarantees per partition key holds; the extra concurrency does not exist locally).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid as uuid_module
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from helpers.localcloud.plane import DEFAULT_ACCOUNT_ID, Context, DataPlane, signing_scope
from helpers.localcloud.kinesis.mapping_calls import LocalServiceCalls
from helpers.localcloud.kinesis.mapping_config import (
    MappingError,
    PollingSettings,
    check_kinesis_rules,
    check_model_constraints,
    invalid_parameter,
    new_config,
    parse_function_name,
    updated_config,
)
from helpers.localcloud.kinesis.shard_poller import ShardPoller
from helpers.localcloud.kinesis.shard_reader import find_stream, shard_readers

log = logging.getLogger("localcloud.kinesis_mappings")

_MAPPINGS_PATH = re.compile(r"^/2015-03-31/event-source-mappings/?$")
_MAPPING_PATH = re.compile(r"^/2015-03-31/event-source-mappings/(?P<uuid>[^/]+)/?$")
_TAGS_PATH = re.compile(r"^/2017-03-31/tags/(?P<arn>.+)$")
_KINESIS_STREAM_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:kinesis:[a-z0-9-]+:\d{12}:stream/[^/]+$")
_KINESIS_CONSUMER_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:kinesis:[a-z0-9-]+:\d{12}:stream/[^/]+/consumer/.+$")

TRANSITIONAL_STATES = ("Creating", "Enabling", "Disabling", "Updating", "Deleting")
USER_ACTION = "User action"
NO_RECORDS_PROCESSED = "No records processed"
LIST_PAGE_LIMIT = 100  # "returns a maximum of 100 items in each response"
SUPERVISOR_TICK_SECONDS = 1.0  # how soon a new shard or a deleted stream is noticed
TRANSITION_POLL_SECONDS = 0.05
NOT_FOUND = "The resource you requested does not exist."


def is_kinesis_source(arn: Any) -> bool:
    return isinstance(arn, str) and arn.split(":")[2:3] == ["kinesis"]


class KinesisMapping:
    """One event source mapping and its pollers. Guarded by the plane's lock."""

    def __init__(self, *, region: str, config: dict[str, Any], enabled: bool, tags: dict[str, str]) -> None:
        self.uuid = str(uuid_module.uuid4())
        self.region = region
        self.arn = f"arn:aws:lambda:{region}:{DEFAULT_ACCOUNT_ID}:event-source-mapping:{self.uuid}"
        self.config = config
        self.pending_config: dict[str, Any] | None = None  # an update not applied yet
        self.enabled = enabled
        self.state = "Creating"
        self.state_reason = USER_ACTION
        self.last_result = NO_RECORDS_PROCESSED
        self.last_modified = time.time()
        self.created = self.last_modified
        self.tags = dict(tags)
        self.stream: Any = None  # moto's stream object the pollers read
        self.checkpoints: dict[str, int] = {}  # shard id -> next sequence number to read
        self.pollers: dict[str, ShardPoller] = {}

    def describe(self) -> dict[str, Any]:
        """EventSourceMappingConfiguration, as Get/List/Create/Update/Delete return it."""
        body = {"UUID": self.uuid, **self.config}
        body.update(
            LastModified=round(self.last_modified, 3),
            LastProcessingResult=self.last_result,
            State=self.state,
            StateTransitionReason=self.state_reason,
            EventSourceMappingArn=self.arn,
        )
        return body

    @property
    def function_arn(self) -> str:
        return self.config["FunctionArn"]


class KinesisMappings(DataPlane):
    name = "kinesis-mappings"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.mappings: dict[str, KinesisMapping] = {}
        self.lock = threading.RLock()
        self.calls = LocalServiceCalls(ctx.endpoint_url)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    # --- routing ---------------------------------------------------------------------------

    def handles(self, request: Request) -> bool:
        path = request.path
        if _MAPPINGS_PATH.match(path):
            if request.method == "GET":
                return True  # List shows ours and moto's
            if request.method == "POST":
                return is_kinesis_source(_peek_event_source(request))
            return False
        match = _MAPPING_PATH.match(path)
        if match:
            return match.group("uuid") in self.mappings
        match = _TAGS_PATH.match(path)
        if match:
            return _mapping_uuid(unquote(match.group("arn"))) in self.mappings
        return False

    def handle(self, request: Request) -> Response:
        region = signing_scope(request)[0] or "us-east-1"
        try:
            status, body = self._route(request, region)
        except MappingError as error:
            return _error(error)
        if status == 204:
            return Response(status=204)
        return Response(json.dumps(body), status=status, content_type="application/json")

    def _route(self, request: Request, region: str) -> tuple[int, dict[str, Any]]:
        path, method = request.path, request.method
        if _MAPPINGS_PATH.match(path):
            if method == "POST":
                return 202, self.create(_json_body(request), region)
            return 200, self.list(request.args, region)
        match = _MAPPING_PATH.match(path)
        if match:
            uuid = match.group("uuid")
            if method == "GET":
                return 200, self.get(uuid)
            if method == "PUT":
                return 202, self.update(uuid, _json_body(request))
            if method == "DELETE":
                return 202, self.delete(uuid)
        match = _TAGS_PATH.match(path)
        if match:
            return self.tagging(_mapping_uuid(unquote(match.group("arn"))), request)
        raise MappingError(405, "MethodNotAllowedException", f"{method} {path} is not a Lambda operation")

    # --- the control plane -----------------------------------------------------------------

    def create(self, body: dict[str, Any], region: str) -> dict[str, Any]:
        check_model_constraints("CreateEventSourceMapping", body)
        for required in ("EventSourceArn", "FunctionName"):
            if not body.get(required):
                raise invalid_parameter(f"Missing required parameter {required}")
        source = body["EventSourceArn"]
        if _KINESIS_CONSUMER_ARN.match(source):
            raise invalid_parameter(
                "Kinesis stream consumers (enhanced fan-out) are not supported by the workbook's local cloud; "
                "map the stream ARN instead."
            )
        if not _KINESIS_STREAM_ARN.match(source):
            raise invalid_parameter(f"Invalid EventSourceArn {source}")
        check_kinesis_rules(body, creating=True)
        if find_stream(self.ctx.backend("kinesis", region), source) is None:  # a mapping's stream is in its region
            raise invalid_parameter(f"Stream not found: {source}")
        function_arn = self._resolve_function(body["FunctionName"], region)
        with self.lock:
            self._refuse_duplicate(source, function_arn, body["FunctionName"])
            mapping = KinesisMapping(
                region=region,
                config=new_config(body, function_arn=function_arn),
                enabled=body.get("Enabled", True),
                tags=body.get("Tags") or {},
            )
            self.mappings[mapping.uuid] = mapping
            described = mapping.describe()
        log.info("mapping %s: %s -> %s created", mapping.uuid, source, function_arn)
        self._wake.set()
        return described

    def list(self, query: Any, region: str) -> dict[str, Any]:
        source = query.get("EventSourceArn")
        function_name = query.get("FunctionName")
        wanted_function = parse_function_name(function_name) if function_name else None
        try:
            max_items = int(query.get("MaxItems") or LIST_PAGE_LIMIT)
            start = int(query.get("Marker") or 0)
        except ValueError as error:
            raise invalid_parameter(f"Invalid MaxItems or Marker: {error}") from error
        check_model_constraints("ListEventSourceMappings", {"MaxItems": max_items})
        with self.lock:
            ours = [
                m.describe()
                for m in sorted(self.mappings.values(), key=lambda m: (m.created, m.uuid))
                if m.region == region
                and (not source or m.config["EventSourceArn"] == source)
                and (wanted_function is None or _same_function(m.function_arn, wanted_function))
            ]
        everything = ours + ([] if is_kinesis_source(source) else self._moto_mappings(region, source, function_name))
        end = start + min(max_items, LIST_PAGE_LIMIT)
        page: dict[str, Any] = {"EventSourceMappings": everything[start:end]}
        if end < len(everything):
            page["NextMarker"] = str(end)
        return page

    def get(self, uuid: str) -> dict[str, Any]:
        with self.lock:
            return self._mapping(uuid).describe()

    def update(self, uuid: str, body: dict[str, Any]) -> dict[str, Any]:
        check_model_constraints("UpdateEventSourceMapping", body)
        check_kinesis_rules(body, creating=False)
        with self.lock:
            mapping = self._mapping(uuid)
            self._refuse_if_busy(mapping)
        function_arn = self._resolve_function(body["FunctionName"], mapping.region) if body.get("FunctionName") else None
        with self.lock:
            mapping = self._mapping(uuid)
            self._refuse_if_busy(mapping)
            if function_arn and function_arn != mapping.function_arn:
                self._refuse_duplicate(mapping.config["EventSourceArn"], function_arn, body["FunctionName"])
            # "Updated settings are applied asynchronously and aren't reflected in the output until
            # the process completes" (with-kinesis.html): the answer shows the settings before.
            mapping.pending_config = updated_config(mapping.config, body, function_arn=function_arn)
            enabled = body.get("Enabled", mapping.enabled)
            if enabled != mapping.enabled:
                mapping.state = "Enabling" if enabled else "Disabling"
            else:
                mapping.state = "Updating"
            mapping.enabled = enabled
            mapping.state_reason = USER_ACTION
            mapping.last_modified = time.time()
            described = mapping.describe()
        self._wake.set()
        return described

    def delete(self, uuid: str) -> dict[str, Any]:
        with self.lock:
            mapping = self._mapping(uuid)
            self._refuse_if_busy(mapping)
            mapping.state = "Deleting"
            mapping.state_reason = USER_ACTION
            described = mapping.describe()
        self._wake.set()
        return described

    def tagging(self, uuid: str, request: Request) -> tuple[int, dict[str, Any]]:
        """ListTags / TagResource / UntagResource on a mapping's ARN."""
        with self.lock:
            mapping = self._mapping(uuid)
            if request.method == "GET":
                return 200, {"Tags": dict(mapping.tags)}
            if request.method == "POST":
                mapping.tags.update(_json_body(request).get("Tags") or {})
                return 204, {}
            if request.method == "DELETE":
                for key in request.args.getlist("tagKeys"):
                    mapping.tags.pop(key, None)
                return 204, {}
        raise MappingError(405, "MethodNotAllowedException", f"{request.method} is not a tagging operation")

    def _mapping(self, uuid: str) -> KinesisMapping:
        mapping = self.mappings.get(uuid)
        if mapping is None:
            raise MappingError(404, "ResourceNotFoundException", NOT_FOUND)
        return mapping

    @staticmethod
    def _refuse_if_busy(mapping: KinesisMapping) -> None:
        # AWS: "you tried to update an event source mapping in the CREATING state, or you tried
        # to delete an event source mapping currently UPDATING" -> ResourceInUseException.
        if mapping.state in TRANSITIONAL_STATES:
            raise MappingError(
                400,
                "ResourceInUseException",
                f"Cannot change the event source mapping {mapping.uuid}: it is in the {mapping.state} state. "
                "Wait until it is Enabled or Disabled.",
            )

    def _refuse_duplicate(self, source: str, function_arn: str, function_name: str) -> None:
        for other in self.mappings.values():
            if other.config["EventSourceArn"] == source and other.function_arn == function_arn:
                # Message as AWS words it (recorded against AWS by LocalStack's parity tests).
                raise MappingError(
                    409,
                    "ResourceConflictException",
                    f'The event source arn (" {source} ") and function (" {function_name} ") provided mapping '
                    f"already exists. Please update or delete the existing mapping with UUID {other.uuid}",
                )

    def _resolve_function(self, function_name: str, region: str) -> str:
        """The FunctionArn a mapping reports: qualified when the request named a version or alias."""
        reference = parse_function_name(function_name)
        function_region = reference.region or region
        backend = self.ctx.backend("lambda", function_region, reference.account or DEFAULT_ACCOUNT_ID)
        try:
            function = backend.get_function(reference.name, reference.qualifier)
        except Exception as error:  # moto's UnknownFunctionException and relatives
            message = getattr(error, "message", None) or f"Function not found: {function_name}"
            raise MappingError(404, "ResourceNotFoundException", message) from error
        unqualified = (
            f"arn:aws:lambda:{function_region}:{reference.account or DEFAULT_ACCOUNT_ID}:function:{function.function_name}"
        )
        return f"{unqualified}:{reference.qualifier}" if reference.qualifier else unqualified

    def _function_role(self, function_arn: str, fallback: str) -> str:
        """The function's execution role: the event's invokeIdentityArn."""
        reference = parse_function_name(function_arn)
        try:
            backend = self.ctx.backend("lambda", reference.region or "us-east-1")
            return backend.get_function(reference.name, reference.qualifier).role
        except Exception:  # the function was deleted: invoking it will report the problem
            return fallback

    def _moto_mappings(self, region: str, source: str | None, function_name: str | None) -> list[dict[str, Any]]:
        """Mappings of other sources, which moto keeps."""
        backend = self.ctx.backend("lambda", region)
        return [m.get_configuration() for m in backend.list_event_source_mappings(source, function_name)]

    # --- the supervisor: states and pollers -------------------------------------------------

    def start(self) -> None:
        self._supervisor = threading.Thread(target=self._supervise, name="esm-supervisor", daemon=True)
        self._supervisor.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._supervisor:
            self._supervisor.join(2.0)  # first, so that nothing restarts a poller stopped below
        with self.lock:
            pollers = [p for m in self.mappings.values() for p in m.pollers.values()]
        for poller in pollers:
            poller.stop()
        deadline = time.monotonic() + 2.0  # invocations under way may not finish; threads are daemons
        for poller in pollers:
            poller.join(max(0.0, deadline - time.monotonic()))

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(SUPERVISOR_TICK_SECONDS)
            self._wake.clear()
            with self.lock:
                for mapping in list(self.mappings.values()):
                    try:
                        self._reconcile(mapping)
                    except Exception:
                        log.exception("mapping %s: supervisor failed", mapping.uuid)
            if self._transitions_pending():
                time.sleep(TRANSITION_POLL_SECONDS)  # pollers are finishing an invocation: look again soon
                self._wake.set()

    def _transitions_pending(self) -> bool:
        with self.lock:
            return any(m.state in TRANSITIONAL_STATES for m in self.mappings.values())

    def _reconcile(self, mapping: KinesisMapping) -> None:
        if mapping.state in TRANSITIONAL_STATES:
            # Pollers stop (finishing an invocation under way) before settings change; an enabled
            # mapping's pollers then start again from their checkpoints.
            if not self._stop_pollers(mapping):
                return
            if mapping.state == "Deleting":
                del self.mappings[mapping.uuid]
                log.info("mapping %s deleted", mapping.uuid)
                return
            if mapping.pending_config is not None:
                mapping.config, mapping.pending_config = mapping.pending_config, None
            mapping.state = "Enabled" if mapping.enabled else "Disabled"
            mapping.last_modified = time.time()
        if mapping.state == "Enabled":
            self._run_pollers(mapping)

    def _stop_pollers(self, mapping: KinesisMapping) -> bool:
        """Ask every poller to stop; True once none is running."""
        for poller in mapping.pollers.values():
            poller.stop()
        if any(p.is_alive() for p in mapping.pollers.values()):
            return False
        mapping.pollers.clear()
        return True

    def _run_pollers(self, mapping: KinesisMapping) -> None:
        """A running poller for every shard of the stream; notice a deleted or new stream."""
        source = mapping.config["EventSourceArn"]
        stream = find_stream(self.ctx.backend("kinesis", source.split(":")[3]), source)
        if stream is None:
            if self._stop_pollers(mapping):
                mapping.last_result = f"PROBLEM: Stream not found: {source}"
            return
        if stream is not mapping.stream:
            if not self._stop_pollers(mapping):
                return
            if mapping.stream is not None:  # deleted and created again under the same name: start over
                mapping.checkpoints = {}
            mapping.stream = stream
            self._resolve_starting_positions(mapping, stream)
        settings = PollingSettings.from_config(mapping.uuid, mapping.region, mapping.config)
        for reader in shard_readers(stream):
            shard_id = reader.shard_id
            poller = mapping.pollers.get(shard_id)
            if poller is not None:
                if poller.is_alive():
                    continue
                log.warning("mapping %s: restarting the poller of %s", mapping.uuid, shard_id)
            poller = ShardPoller(
                settings=settings,
                reader=reader,
                start_at=mapping.checkpoints.setdefault(shard_id, reader.first_sequence_number()),
                calls=self.calls,
                identity_arn=self._identity_for(mapping),
                on_checkpoint=mapping.checkpoints.__setitem__,
                on_result=lambda text, m=mapping: setattr(m, "last_result", text),
            )
            mapping.pollers[shard_id] = poller
            poller.start()

    def _identity_for(self, mapping: KinesisMapping) -> Any:
        known = {"role": ""}

        def identity() -> str:
            known["role"] = self._function_role(mapping.function_arn, known["role"])
            return known["role"]

        return identity

    @staticmethod
    def _resolve_starting_positions(mapping: KinesisMapping, stream: Any) -> None:
        """StartingPosition fixes where each shard present now is first read; later shards start at 1."""
        position = mapping.config["StartingPosition"]
        for reader in shard_readers(stream):
            if reader.shard_id in mapping.checkpoints:
                continue
            if position == "LATEST":
                mapping.checkpoints[reader.shard_id] = reader.next_sequence_number()
            elif position == "AT_TIMESTAMP":
                mapping.checkpoints[reader.shard_id] = reader.sequence_number_at(
                    mapping.config["StartingPositionTimestamp"]
                )
            else:
                mapping.checkpoints[reader.shard_id] = reader.first_sequence_number()


def _same_function(function_arn: str, wanted: Any) -> bool:
    mine = parse_function_name(function_arn)
    return mine.name == wanted.name and (wanted.qualifier is None or mine.qualifier == wanted.qualifier)


def _mapping_uuid(arn: str) -> str:
    return arn.rsplit(":event-source-mapping:", 1)[-1] if ":event-source-mapping:" in arn else ""


def _peek_event_source(request: Request) -> Any:
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError:
        return None  # not ours to judge: moto answers
    return body.get("EventSourceArn") if isinstance(body, dict) else None


def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError as error:
        raise MappingError(400, "SerializationException", f"The request body is not JSON: {error}") from error
    if not isinstance(body, dict):
        raise MappingError(400, "SerializationException", "The request body is not a JSON object")
    return body


def _error(error: MappingError) -> Response:
    """Lambda's REST-JSON error: ``x-amzn-ErrorType`` plus a body with ``Type`` and ``message``."""
    body: dict[str, str] = {"message": error.message}
    if error.error_type not in ("ValidationException", "SerializationException"):
        body["Type"] = "User"
    response = Response(json.dumps(body), status=error.status, content_type="application/json")
    response.headers["x-amzn-ErrorType"] = error.error_type
    return response
