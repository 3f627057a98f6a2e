"""Lambda Invoke: run the deployed Python code, as ``POST /2015-03-31/functions/{name}/invocations``.

moto stores the functions (CreateFunction, UpdateFunctionCode...) but needs Docker to run them. This
plane answers Invoke itself, following https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html:
``RequestResponse`` (200 and the function's response), ``Event`` (202, queued, retried on error) and
``DryRun`` (204); ``LogType=Tail``; ``Qualifier`` (version or alias) and names given as a name, an
ARN or a partial ARN. The code runs in warm worker processes (``awslambda.sandbox``), at most as many at
once as the function's concurrency allows (``awslambda.concurrency``); asynchronous events go through
``awslambda.asynchronous``. The deprecated InvokeAsync (``/2014-11-13/.../invoke-async/``) is answered as an
``Event`` invocation.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import zipfile
from typing import Any

from werkzeug.wrappers import Request, Response

from helpers.localcloud.awslambda import destinations as lambda_destinations, logs as lambda_logs
from helpers.localcloud.awslambda.asynchronous import AsyncEvent, AsyncPolicy, AsyncQueue
from helpers.localcloud.awslambda.concurrency import FunctionPool, Throttled
from helpers.localcloud.awslambda.sandbox import (
    ExecutionEnvironment,
    FunctionSpec,
    InvocationRequest,
    InvocationResult,
    UnsupportedFunction,
    new_request_id,
)
from helpers.localcloud.plane import DEFAULT_ACCOUNT_ID, Context, DataPlane, signing_scope

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/invocations/?$")
INVOKE_ASYNC_PATH = re.compile(r"^/2014-11-13/functions/(?P<function>[^/]+)/invoke-async/?$")
# The FunctionName pattern of the Invoke API reference (and the same with named groups).
FUNCTION_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?"
    r"([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
FUNCTION_NAME = re.compile(
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?(?P<region>(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(?P<account>\d{12}:)?(function:)?(?P<name>[a-zA-Z0-9-_\.]+)"
    r"(:(?P<qualifier>\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
INVOCATION_TYPES = ("Event", "RequestResponse", "DryRun")
LOG_TYPES = ("None", "Tail")
# Invoke: "For synchronous invocations, the maximum payload size is 6 MB. For asynchronous
# invocations, the maximum payload size is 1 MB." (and 256 KB for the deprecated InvokeAsync)
SYNC_REQUEST_LIMIT = 6291456
ASYNC_REQUEST_LIMIT = 1048576
INVOKE_ASYNC_REQUEST_LIMIT = 262144
SYNC_RESPONSE_LIMIT = 6291556  # the figure in Lambda's own Function.ResponseSizeTooLarge message
CLIENT_CONTEXT_LIMIT = 3583
ASYNC_CAPACITY_WAIT_S = 1.0  # an event that finds no capacity goes back to the queue this long
REAP_INTERVAL_S = 30.0


class InvokeError(Exception):
    """An Invoke request Lambda rejects before running anything."""

    def __init__(self, status: int, error_type: str, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message, self.fields = status, error_type, message, fields

    def response(self) -> Response:
        body = {"Type": "User" if self.status < 500 else "Service", "message": self.message, **self.fields}
        response = Response(json.dumps(body), status=self.status, content_type="application/json")
        response.headers["x-amzn-ErrorType"] = self.error_type
        response.headers["x-amzn-RequestId"] = new_request_id()
        return response


def validation_error(value: str, member: str, constraint: str) -> InvokeError:
    return InvokeError(
        400,
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}",
    )


def enum_constraint(values: tuple[str, ...]) -> str:
    return f"Member must satisfy enum value set: [{', '.join(values)}]"


def unqualified_arn(fn: Any) -> str:
    """moto gives a published version the ARN ``...:function:name:N``; $LATEST has none."""
    return fn.function_arn if str(fn.version) == "$LATEST" else fn.function_arn.rsplit(":", 1)[0]


def invoked_arn(spec: FunctionSpec, qualifier: str | None) -> str:
    """The ARN the caller used, as ``context.invoked_function_arn`` shows it."""
    return spec.function_arn + (f":{qualifier}" if qualifier else "")


def parse_function_name(raw: str, qualifier: str | None) -> tuple[str, str | None, str | None, str | None]:
    """(name, qualifier, region, account) from a name, ARN or partial ARN plus ``Qualifier``."""
    match = FUNCTION_NAME.fullmatch(raw)
    if not match or len(raw) > 256 or (":" not in raw and len(raw) > 64):
        raise validation_error(
            raw, "functionName", f"Member must satisfy regular expression pattern: {FUNCTION_NAME_PATTERN}"
        )
    derived = match.group("qualifier")
    if derived and qualifier and derived != qualifier:
        raise InvokeError(
            400,
            "InvalidParameterValueException",
            "The derived qualifier from the function name does not match the specified qualifier.",
        )
    region = (match.group("region") or "").rstrip(":") or None
    account = (match.group("account") or "").rstrip(":") or None
    return match.group("name"), derived or qualifier, region, account


class LambdaInvoke(DataPlane):
    name = "lambda-invoke"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._pools: dict[tuple[str, str, str], FunctionPool] = {}
        self._pools_lock = threading.Lock()
        self._async = AsyncQueue(run=self._run_event, policy_of=self._policy_of, deliver=self._deliver)
        self._stopping = threading.Event()
        self._reaper = threading.Thread(target=self._reap, name="lambda-reaper", daemon=True)

    # -- plane interface --

    def handles(self, request: Request) -> bool:
        return request.method == "POST" and bool(
            INVOKE_PATH.match(request.path) or INVOKE_ASYNC_PATH.match(request.path)
        )

    def handle(self, request: Request) -> Response:
        try:
            return self._invoke(request)
        except InvokeError as error:
            return error.response()

    def start(self) -> None:
        self._async.start()
        self._reaper.start()

    def stop(self) -> None:
        self._stopping.set()
        self._async.stop()
        with self._pools_lock:
            pools = list(self._pools.values())
        for pool in pools:
            pool.close()

    # -- one request --

    def _invoke(self, request: Request) -> Response:
        legacy = INVOKE_ASYNC_PATH.match(request.path)
        match = legacy or INVOKE_PATH.match(request.path)
        assert match is not None
        name, qualifier, arn_region, arn_account = parse_function_name(
            match.group("function"), None if legacy else request.args.get("Qualifier")
        )
        region = arn_region or signing_scope(request)[0] or "us-east-1"
        account = arn_account or DEFAULT_ACCOUNT_ID
        invocation_type = "Event" if legacy else request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type not in INVOCATION_TYPES:
            raise validation_error(invocation_type, "invocationType", enum_constraint(INVOCATION_TYPES))
        log_type = request.headers.get("X-Amz-Log-Type", "None")
        if log_type not in LOG_TYPES:
            raise validation_error(log_type, "logType", enum_constraint(LOG_TYPES))

        fn = self._function(region, account, name, qualifier)
        payload = self._payload(request.get_data(), invocation_type, legacy is not None)
        client_context = self._client_context(request.headers.get("X-Amz-Client-Context"))
        if invocation_type == "DryRun":  # validated, not run
            return self._response(204, b"", new_request_id())
        spec = self._spec(fn)

        if invocation_type == "Event":
            request_id = new_request_id()
            self._async.submit(AsyncEvent(request_id, region, account, name, qualifier, payload))
            response = self._response(202, b"", request_id)
            if legacy:
                response.set_data(json.dumps({"Status": 202}).encode())
            return response

        invocation = InvocationRequest(new_request_id(), payload, invoked_arn(spec, qualifier), client_context)
        try:
            result = self._run(spec, invocation, wait_until=None)
        except Throttled:
            # https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html (throttling)
            reason = "ReservedFunctionConcurrentInvocationLimitExceeded"
            raise InvokeError(429, "TooManyRequestsException", "Rate Exceeded.", Reason=reason)
        return self._sync_response(result, log_type == "Tail")

    def _spec(self, fn: Any) -> FunctionSpec:
        layer_lookup = self.ctx.backend("lambda", fn.region, fn.account_id).layers_versions_by_arn
        try:
            return FunctionSpec.from_moto(fn, layer_lookup)
        except UnsupportedFunction as error:
            raise InvokeError(502, "InvalidRuntimeException", f"{error} (a limit of the local cloud, not of AWS)")

    def _run(self, spec: FunctionSpec, invocation: InvocationRequest, wait_until: float | None) -> InvocationResult:
        """Run one invocation in a warm (or new) environment of the function; raises ``Throttled``."""
        pool = self._pool(spec)
        env = pool.acquire(spec, self._reserved_concurrency(spec), wait_until)
        try:
            return env.invoke(invocation)
        except zipfile.BadZipFile:  # moto stores any bytes; Lambda would have refused them at upload
            raise InvokeError(
                502, "InvalidZipFileException", f"Lambda was not able to unzip the deployment package of {spec.name}."
            )
        finally:
            pool.release(env)

    def _function(self, region: str, account: str, name: str, qualifier: str | None) -> Any:
        from moto.awslambda.exceptions import LambdaClientError

        backend = self.ctx.backend("lambda", region, account)
        try:
            return backend.get_function(name, qualifier)
        except LambdaClientError as error:
            raise InvokeError(error.code, error.error_type, error.message)

    @staticmethod
    def _payload(body: bytes, invocation_type: str, legacy: bool) -> bytes:
        if legacy:
            limit = INVOKE_ASYNC_REQUEST_LIMIT
        else:
            limit = ASYNC_REQUEST_LIMIT if invocation_type == "Event" else SYNC_REQUEST_LIMIT
        if len(body) > limit:
            if invocation_type == "Event":
                message = f"{len(body)} byte payload is too large for the Event invocation type (limit {limit} bytes)"
            else:
                message = f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
            raise InvokeError(413, "RequestEntityTooLargeException", message)
        if not body.strip():
            return b"{}"  # an Invoke without a payload hands the handler an empty object
        try:
            json.loads(body)
        except ValueError as error:
            raise InvokeError(
                400,
                "InvalidRequestContentException",
                f"Could not parse request body into json: Could not parse payload into json: {error}",
            )
        return body

    @staticmethod
    def _client_context(header: str | None) -> str | None:
        if not header:
            return None
        if len(header) > CLIENT_CONTEXT_LIMIT:
            raise validation_error(
                header, "clientContext", f"Member must have length less than or equal to {CLIENT_CONTEXT_LIMIT}"
            )
        try:
            text = base64.b64decode(header, validate=True).decode("utf-8")
            if not isinstance(json.loads(text), dict):
                raise ValueError
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvokeError(
                400, "InvalidRequestContentException", "Client context must be a valid Base64-encoded JSON object."
            )
        return text

    def _reserved_concurrency(self, spec: FunctionSpec) -> int | None:
        """Reserved concurrency belongs to the function, all versions: moto keeps it on $LATEST."""
        latest = self.ctx.backend("lambda", spec.region, spec.account_id).get_function(spec.name)
        value = latest.reserved_concurrency
        return None if value in (None, "") else int(value)

    def _pool(self, spec: FunctionSpec) -> FunctionPool:
        key = (spec.account_id, spec.region, spec.name)
        with self._pools_lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pools[key] = FunctionPool(self._new_environment)
            return pool

    def _new_environment(self, spec: FunctionSpec) -> ExecutionEnvironment:
        def logs_backend() -> Any:
            return self.ctx.backend("logs", spec.region, spec.account_id)

        return ExecutionEnvironment(spec, self.ctx.state_dir, self.ctx.endpoint_url, logs_backend, self.ctx.service_endpoints)

    @staticmethod
    def _response(status: int, body: bytes, request_id: str) -> Response:
        response = Response(body, status=status, content_type="application/json")
        response.headers["x-amzn-RequestId"] = request_id
        return response

    def _sync_response(self, result: InvocationResult, tail: bool) -> Response:
        payload, function_error = result.payload, result.function_error
        if len(payload) > SYNC_RESPONSE_LIMIT:
            message = f"Response payload size exceeded maximum allowed payload size ({SYNC_RESPONSE_LIMIT} bytes)."
            payload = json.dumps({"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"}).encode()
            function_error = "Unhandled"
        response = self._response(200, payload, result.request_id)
        response.headers["X-Amz-Executed-Version"] = result.executed_version
        if function_error:
            response.headers["X-Amz-Function-Error"] = function_error
        if tail:
            response.headers["X-Amz-Log-Result"] = lambda_logs.tail(result.log_lines)
        return response

    # -- asynchronous events --

    def _policy_of(self, event: AsyncEvent) -> AsyncPolicy | None:
        try:
            fn = self._function(event.region, event.account, event.function_name, event.qualifier)
        except InvokeError:
            return None
        return AsyncPolicy.of(fn, f"{unqualified_arn(fn)}:{event.qualifier or '$LATEST'}")

    def _run_event(self, event: AsyncEvent, give_up_at: float) -> InvocationResult | None:
        """One attempt at an event; None when no capacity came free in time (it is queued again)."""
        spec = self._spec(self._function(event.region, event.account, event.function_name, event.qualifier))
        invocation = InvocationRequest(event.request_id, event.payload, invoked_arn(spec, event.qualifier))
        try:
            return self._run(spec, invocation, wait_until=min(give_up_at, time.monotonic() + ASYNC_CAPACITY_WAIT_S))
        except Throttled:
            return None

    def _deliver(self, region: str, destination: str, record: dict) -> None:
        lambda_destinations.deliver(self.ctx.endpoint_url, region, destination, record)

    def _reap(self) -> None:
        while not self._stopping.wait(REAP_INTERVAL_S):
            with self._pools_lock:
                pools = list(self._pools.values())
            for pool in pools:
                pool.reap_idle(time.monotonic())
