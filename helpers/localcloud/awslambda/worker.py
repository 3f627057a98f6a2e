"""The Lambda Python runtime's bootstrap, as one local execution environment runs it.

The local cloud starts this file as its own interpreter (``python -I -S -u worker.py``), one
process per execution environment, and talks to it over two pipes (``sandbox`` is the other
end). Like AWS's runtime interface client (``awslambdaric.bootstrap``), it imports the handler once
(the Init phase), then answers invocations one at a time, with the same error shapes, the same log
format and the same ``LambdaContext``.

It uses the standard library only: with ``-I -S`` the handler sees the function's code, its layers
and the packages the AWS Python runtime ships (boto3 and its dependencies), nothing else of the
workbook's virtualenv, so code that would fail to import on AWS fails here too.

Protocol: frames of a 4-byte big-endian length then the bytes. The parent sends a UTF-8 JSON frame
``{"request_id", "deadline_ms", "invoked_function_arn", "client_context"}`` followed by a frame of
the payload as it is (not escaped into a JSON string: a Kinesis batch is 300 KB), and gets back
``{"ok": true, "payload_b64"}`` or ``{"ok": false, "error"}`` plus ``max_rss_kb``. Before each answer
the worker writes ``END_OF_OUTPUT`` to its stdout, so the parent knows which output belongs to which
invocation.
"""

from __future__ import annotations

import base64
import decimal
import importlib
import json
import logging
import math
import os
import resource
import struct
import sys
import time
import traceback
from typing import Any, Callable

END_OF_OUTPUT = b"\x1e\x1fEND-OF-INVOCATION-OUTPUT\x1f\x1e"
_FRAME_HEADER = struct.Struct(">I")

# awslambdaric's FaultException types (aws-lambda-python-runtime-interface-client,
# awslambdaric/lambda_runtime_exception.py).
IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
MARSHAL_ERROR = "Runtime.MarshalError"
UNMARSHAL_ERROR = "Runtime.UnmarshalError"
LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

# awslambdaric/lambda_literals.py
UNHANDLED_EXCEPTION_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. However, in rare "
    "cases, a Lambda runtime update can cause unexpected function behavior. For functions using managed runtimes, "
    "runtime updates can be triggered by a function change, or can be applied automatically. To determine if the "
    "runtime has been updated, check the runtime version in the INIT_START log entry. If this error correlates with "
    "a change in the runtime version, you may be able to mitigate this error by temporarily rolling back to the "
    "previous runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html"
)
ERROR_LOG_LINE_TERMINATE = "\r"  # one CloudWatch event per error, whatever its line count
ERROR_LOG_IDENT = "\u00a0"  # awslambdaric indents stack traces with NO-BREAK SPACE

_current_request_id: str | None = None


class FaultException(Exception):
    def __init__(self, exception_type: str, msg: str, trace: list[str] | None = None) -> None:
        super().__init__(msg)
        self.exception_type = exception_type
        self.msg = msg
        self.trace = trace


# --- the pipes to the parent ---------------------------------------------------------------


def read_exact(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            raise EOFError("the local cloud closed the control pipe")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> bytes:
    (length,) = _FRAME_HEADER.unpack(read_exact(fd, _FRAME_HEADER.size))
    return read_exact(fd, length)


def read_request(fd: int) -> dict[str, Any]:
    """An invocation: its JSON frame, with ``payload`` the bytes of the frame after it."""
    request = json.loads(read_frame(fd))
    request["payload"] = read_frame(fd)
    return request


def write_frame(fd: int, message: dict[str, Any]) -> None:
    body = json.dumps(message).encode("utf-8")
    data = _FRAME_HEADER.pack(len(body)) + body
    while data:
        data = data[os.write(fd, data) :]


def end_of_output() -> None:
    """Flush what the handler printed, then mark where this invocation's output ends."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(1, END_OF_OUTPUT)


def max_rss_kb() -> int:
    """Peak resident memory of this process, in KB. ``VmHWM`` rather than ``ru_maxrss``, which on
    Linux keeps the peak of the server process this one was forked from."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# --- logging, as awslambdaric sets it up (text format) -------------------------------------


class LambdaLoggerFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _current_request_id or ""
        return True


def setup_logging() -> None:
    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.terminator = ""  # the format ends with its own newline
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"
        )
    )
    handler.addFilter(LambdaLoggerFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)


def make_error(message: str, error_type: str, stack_trace: list[str] | None, request_id: str | None) -> dict:
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace or [],
    }


def log_error(error: dict) -> None:
    """``[ERROR] Type: message`` then the stack trace, as one log event (``\\r`` between lines)."""
    description = "[ERROR]"
    if error.get("errorType"):
        description += " " + error["errorType"]
    if error.get("errorMessage"):
        if error.get("errorType"):
            description += ":"
        description += " " + error["errorMessage"]
    lines = [description, "Traceback (most recent call last):"]
    for element in error.get("stackTrace") or []:
        for line in element.splitlines() or [""]:
            stripped = line.lstrip(" ")
            lines.append(ERROR_LOG_IDENT * (len(line) - len(stripped)) + stripped)
    sys.stdout.write(ERROR_LOG_LINE_TERMINATE.join(lines) + "\n")


def user_frames(tb: Any) -> list[str]:
    """The stack trace without this bootstrap's own frames, formatted as the runtime does (from
    plain tuples, so without 3.11's ``^^^`` column markers)."""
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    while frames and frames[0][0] == __file__:
        frames.pop(0)
    return traceback.format_list(frames)


# --- the Init phase --------------------------------------------------------------------------


def load_handler(handler: str) -> Callable[[Any, Any], Any]:
    """awslambdaric's ``_get_handler``: same checks, same messages."""
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as error:
        raise FaultException(MALFORMED_HANDLER_NAME, f"Bad handler '{handler}': {error}")
    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                BUILT_IN_MODULE_CONFLICT, f"Cannot use built-in module {module_name} as a handler module"
            )
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        raise FaultException(IMPORT_MODULE_ERROR, f"Unable to import module '{module_name}': {error}")
    except SyntaxError as error:
        trace = [f'  File "{error.filename}" Line {error.lineno}\n    {error.text}']
        raise FaultException(USER_CODE_SYNTAX_ERROR, f"Syntax error in module '{module_name}': {error}", trace)
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise FaultException(HANDLER_NOT_FOUND, f"Handler '{function_name}' missing on module '{module_name}'")


# --- the Invoke phase ------------------------------------------------------------------------


class CognitoIdentity:
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]


class Client:
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"]


class ClientContext:
    __slots__ = ["custom", "env", "client"]


def object_from_dict(cls: type, values: dict | None) -> Any:
    if values is None:
        return None
    obj = cls()
    for name in cls.__slots__:
        setattr(obj, name, values.get(name))
    return obj


class LambdaContext:
    """The handler's ``context`` (awslambdaric/lambda_context.py)."""

    def __init__(
        self, request_id: str, client_context: dict | None, deadline_ms: int, invoked_function_arn: str
    ) -> None:
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.client_context = object_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = object_from_dict(Client, self.client_context.client)
        self.identity = object_from_dict(CognitoIdentity, {})
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg: Any) -> None:
        sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},client_context={self.client_context},"
            f"identity={self.identity}])"
        )


class ResponseEncoder(json.JSONEncoder):
    """awslambdaric's marshaller: Decimal as a JSON number (simplejson writes its exact digits;
    the standard library can only write int or float, which is what this does)."""

    def default(self, obj: Any) -> Any:
        if isinstance(obj, decimal.Decimal):
            if obj.is_nan():
                return math.nan
            return int(obj) if obj == obj.to_integral_value() else float(obj)
        return super().default(obj)


def marshal_response(response: Any) -> bytes:
    if isinstance(response, bytes):
        return response
    ensure_ascii = os.environ.get("AWS_EXECUTION_ENV") != "AWS_Lambda_python3.12"
    try:
        return ResponseEncoder(ensure_ascii=ensure_ascii).encode(response).encode("utf-8")
    except Exception as error:
        raise FaultException(MARSHAL_ERROR, f"Unable to marshal response: {error}")


def handle_invocation(handler: Callable[[Any, Any], Any], request: dict) -> dict:
    request_id = request["request_id"]
    try:
        client_context = None
        if request.get("client_context"):
            try:
                client_context = json.loads(request["client_context"])
            except ValueError as error:
                raise FaultException(LAMBDA_CONTEXT_UNMARSHAL_ERROR, f"Unable to parse Client Context JSON: {error}")
        context = LambdaContext(request_id, client_context, request["deadline_ms"], request["invoked_function_arn"])
        try:
            event = json.loads(request["payload"])
        except ValueError as error:
            raise FaultException(UNMARSHAL_ERROR, f"Unable to unmarshal input: {error}")
        payload = marshal_response(handler(event, context))
        return {"ok": True, "payload_b64": base64.b64encode(payload).decode("ascii")}
    except FaultException as fault:
        error = make_error(fault.msg, fault.exception_type, fault.trace, request_id)
    except Exception as exc:
        error = make_error(str(exc), type(exc).__name__, user_frames(exc.__traceback__), request_id)
    log_error(error)
    return {"ok": False, "error": error}


def main() -> None:
    control_in, control_out = int(sys.argv[1]), int(sys.argv[2])
    import_paths = json.loads(sys.argv[3])
    # /var/task first, then the layers, then the runtime's own packages, as on AWS.
    sys.path[:0] = import_paths
    setup_logging()

    started = time.monotonic()
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except Exception as exc:
        if isinstance(exc, FaultException):
            error = make_error(exc.msg, exc.exception_type, exc.trace, None)
        else:  # the module raised while being imported
            error = make_error(str(exc), type(exc).__name__, user_frames(exc.__traceback__), None)
        logging.warning(UNHANDLED_EXCEPTION_WARNING)
        log_error(error)
        end_of_output()
        write_frame(control_out, {"ok": False, "error": error, "max_rss_kb": max_rss_kb()})
        sys.exit(1)
    end_of_output()
    write_frame(control_out, {"ok": True, "init_ms": (time.monotonic() - started) * 1000, "max_rss_kb": max_rss_kb()})

    global _current_request_id
    while True:
        try:
            request = read_request(control_in)
        except EOFError:
            return
        _current_request_id = request["request_id"]
        answer = handle_invocation(handler, request)
        end_of_output()
        answer["max_rss_kb"] = max_rss_kb()
        write_frame(control_out, answer)


if __name__ == "__main__":
    main()
