"""One Lambda execution environment: a warm worker process running a function's deployed code.

An environment is made from a ``FunctionSpec`` (the code and configuration moto stores for one
function version). It runs the Init phase once (imports the handler), then invocations one at a
time, enforcing the function's timeout by killing the process, and writes its log stream. The
worker side is ``worker.py``. See
https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.metadata
import io
import json
import math
import os
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from helpers.localcloud.awslambda import logs as lambda_logs
from helpers.localcloud.awslambda.logs import LogStream, Report
from helpers.localcloud.awslambda.worker import END_OF_OUTPUT

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
_FRAME_HEADER = struct.Struct(">I")

# The packages the AWS Python runtimes ship besides the standard library
# (https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html: "the SDK for Python (Boto3)"
# and its dependencies). The handler can import these and nothing else of the local virtualenv.
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six")

# "Lambda initializes ... within 10 seconds" for on-demand functions
# (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-ib).
INIT_TIMEOUT_S = 10.0
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def local_client(service: str, endpoint_url: str, region: str) -> Any:
    """A boto3 client of the local cloud itself, with the dummy credentials: how its planes call
    other services (destinations, rule targets) as AWS would."""
    import boto3  # only the planes that deliver need it; not every importer of this module

    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
    )


class UnsupportedFunction(Exception):
    """The local cloud cannot run this function (a non-Python runtime, a container image)."""


@dataclass(frozen=True)
class Layer:
    arn: str
    digest: str
    code: bytes = field(repr=False, compare=False)


@dataclass(frozen=True)
class FunctionSpec:
    """What an execution environment is built from: one function version's code and settings."""

    account_id: str
    region: str
    name: str
    version: str  # "$LATEST" or "1", "2"...
    function_arn: str  # unqualified
    runtime: str
    handler: str
    memory_mb: int
    timeout_s: int
    environment: tuple[tuple[str, str], ...]
    code_digest: str
    last_modified: str
    layers: tuple[Layer, ...]
    code: bytes = field(repr=False, compare=False)

    @classmethod
    def from_moto(cls, fn: Any, layer_lookup: Callable[[str], Any]) -> FunctionSpec:
        if getattr(fn, "package_type", "Zip") != "Zip":
            raise UnsupportedFunction(
                f"function {fn.function_name} is a container image; the local cloud runs Python zip packages only"
            )
        runtime = fn.run_time or ""
        if not runtime.startswith("python3"):
            raise UnsupportedFunction(
                f"function {fn.function_name} has runtime {runtime or 'none'}; "
                "the local cloud runs Python runtimes only"
            )
        layers = []
        for entry in fn.layers or []:
            layer = layer_lookup(entry["Arn"])
            layers.append(Layer(arn=entry["Arn"], digest=layer.code_digest, code=layer.code_bytes))
        return cls(
            account_id=fn.account_id,
            region=fn.region,
            name=fn.function_name,
            version=str(fn.version),
            function_arn=fn.function_arn.rsplit(":", 1)[0] if str(fn.version) != "$LATEST" else fn.function_arn,
            runtime=runtime,
            handler=fn.handler or "",
            memory_mb=int(fn.memory_size),
            timeout_s=int(fn.timeout),
            environment=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
            code_digest=fn.code_digest,
            last_modified=fn.last_modified,
            layers=tuple(layers),
            code=fn.code_bytes,
        )

    @property
    def fingerprint(self) -> str:
        """Changes whenever the code or configuration does: a warm environment is reused only while
        its fingerprint is the function's current one (UpdateFunctionCode/Configuration replace it)."""
        settings = {k: v for k, v in self.__dict__.items() if k not in ("code", "layers")}
        settings["layers"] = [(layer.arn, layer.digest) for layer in self.layers]
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")  # "3.12"


@dataclass
class InvocationRequest:
    request_id: str
    payload: bytes
    invoked_function_arn: str
    client_context: str | None = None  # JSON text (the header is base64 of it)


@dataclass
class InvocationResult:
    request_id: str
    payload: bytes
    function_error: str | None  # "Unhandled" when the function failed, as X-Amz-Function-Error
    error_type: str | None
    log_lines: list[str]
    executed_version: str


# --- files on disk ---------------------------------------------------------------------------


def _extract_once(code: bytes, target: Path) -> Path:
    """Unzip to ``target`` unless already there; concurrent callers see a complete tree or none."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent))
    try:
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(scratch)
        os.rename(scratch, target)
    except OSError:
        if not target.is_dir():
            raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def code_directory(state_dir: Path, spec: FunctionSpec) -> Path:
    return _extract_once(spec.code, state_dir / "lambda" / "code" / spec.code_digest)


def layer_directory(state_dir: Path, layer: Layer) -> Path:
    return _extract_once(layer.code, state_dir / "lambda" / "layers" / layer.digest)


@functools.lru_cache(maxsize=1)
def _runtime_package_entries() -> dict[str, Path]:
    """Top-level name -> resolved path of the runtime's packages. Read once: resolving every file
    of boto3's distributions costs seconds of system calls, and the virtualenv does not change
    while the local cloud runs."""
    entries: dict[str, Path] = {}
    for name in RUNTIME_DISTRIBUTIONS:
        dist = importlib.metadata.distribution(name)
        for file in dist.files or []:
            top = file.parts[0]
            if top in ("..", "__pycache__") or top.endswith(".pth") or top in entries:
                continue
            entries[top] = Path(dist.locate_file(top)).resolve()
    return entries


def runtime_packages_directory(state_dir: Path) -> Path:
    """A directory of links to the runtime's packages (boto3...) in the local virtualenv."""
    entries = _runtime_package_entries()
    key = hashlib.sha256(json.dumps(sorted((k, str(v)) for k, v in entries.items())).encode()).hexdigest()[:16]
    target = state_dir / "lambda" / "runtime" / key
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".links-", dir=target.parent))
    for top, source in entries.items():
        os.symlink(source, scratch / top)
    try:
        os.rename(scratch, target)
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


# --- the execution environment ---------------------------------------------------------------


class ExecutionEnvironment:
    """One worker process for one function version, used by one invocation at a time."""

    def __init__(
        self,
        spec: FunctionSpec,
        state_dir: Path,
        endpoint_url: str,
        logs_backend: Callable[[], Any],
        service_endpoints: dict[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.fingerprint = spec.fingerprint
        self._state_dir = state_dir
        self._endpoint_url = endpoint_url
        self._service_endpoints = service_endpoints or {}
        self.log_stream = LogStream(logs_backend, spec.name, spec.version)
        self._process: subprocess.Popen | None = None
        self._to_worker = -1
        self._from_worker = -1
        self._output = bytearray()
        self._control = bytearray()
        self._init_duration_ms: float | None = None
        self._max_rss_kb = 0
        self.last_used = time.monotonic()

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- lifecycle --

    def _environment_variables(self, code_dir: Path, runtime_dir: Path) -> dict[str, str]:
        """https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime"""
        spec = self.spec
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            # Not a Lambda variable: it points the handler's boto3 clients at the local cloud.
            "AWS_ENDPOINT_URL": self._endpoint_url,
            # A service in a process of its own is called there (boto3's AWS_ENDPOINT_URL_<SERVICE>).
            **{f"AWS_ENDPOINT_URL_{service.upper()}": url for service, url in self._service_endpoints.items()},
        }
        env.update(dict(spec.environment))
        env.update(  # reserved: the function's own variables cannot override these
            {
                "_HANDLER": spec.handler,
                "AWS_REGION": spec.region,
                "AWS_DEFAULT_REGION": spec.region,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_LAMBDA_LOG_GROUP_NAME": self.log_stream.group,
                "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream.name,
                "LAMBDA_TASK_ROOT": str(code_dir),
                "LAMBDA_RUNTIME_DIR": str(runtime_dir),
                "TZ": ":UTC",
                **DUMMY_CREDENTIALS,
            }
        )
        return env

    def _import_paths(self, code_dir: Path, runtime_dir: Path) -> list[str]:
        # /var/task, then each layer's /opt/python/lib/pythonX.Y/site-packages and /opt/python
        # (a later layer wins, as when Lambda extracts layers in order into /opt), then the runtime.
        paths = [str(code_dir)]
        for layer in reversed(self.spec.layers):
            opt = layer_directory(self._state_dir, layer)
            paths += [str(opt / "python" / "lib" / self.spec.runtime / "site-packages"), str(opt / "python")]
        paths.append(str(runtime_dir))
        return paths

    def _spawn(self) -> None:
        code_dir = code_directory(self._state_dir, self.spec)
        runtime_dir = runtime_packages_directory(self._state_dir)
        parent_read, child_write = os.pipe()
        child_read, parent_write = os.pipe()
        command = [
            sys.executable,
            "-I",  # no PYTHON* variables, no user site, not the script's directory
            "-S",  # no site-packages: the handler sees only what _import_paths gives it
            "-u",
            str(WORKER_SCRIPT),
            str(child_read),
            str(child_write),
            json.dumps(self._import_paths(code_dir, runtime_dir)),
        ]
        try:
            self._process = subprocess.Popen(
                command,
                cwd=code_dir,
                env=self._environment_variables(code_dir, runtime_dir),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(child_read, child_write),
                start_new_session=True,  # its own process group: a kill takes the handler's children too
            )
        except BaseException:
            os.close(parent_read)
            os.close(parent_write)
            raise
        finally:
            os.close(child_read)
            os.close(child_write)
        self._to_worker, self._from_worker = parent_write, parent_read

    def terminate(self) -> None:
        """Kill the worker's processes, leaving the pipes to the thread that may be reading them."""
        process = self._process
        if process is not None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """Kill the worker and close its pipes (by the thread that owns the environment)."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        if process.stdout:
            process.stdout.close()
        for fd in (self._to_worker, self._from_worker):
            if fd >= 0:
                os.close(fd)
        self._to_worker = self._from_worker = -1

    # -- talking to the worker --

    def _send(self, message: dict, payload: bytes) -> bool:
        """An invocation to the worker: its JSON frame, then the payload's frame as it is."""
        body = json.dumps(message).encode("utf-8")
        data = b"".join((_FRAME_HEADER.pack(len(body)), body, _FRAME_HEADER.pack(len(payload)), payload))
        try:
            while data:
                data = data[os.write(self._to_worker, data) :]
        except (BrokenPipeError, OSError):
            return False
        return True

    def _take_frame(self) -> dict | None:
        if len(self._control) < _FRAME_HEADER.size:
            return None
        (length,) = _FRAME_HEADER.unpack_from(self._control)
        if len(self._control) < _FRAME_HEADER.size + length:
            return None
        body = bytes(self._control[_FRAME_HEADER.size : _FRAME_HEADER.size + length])
        del self._control[: _FRAME_HEADER.size + length]
        return json.loads(body)

    def _take_output(self) -> bytes | None:
        """This phase's output, once the worker has marked its end."""
        end = self._output.find(END_OF_OUTPUT)
        if end < 0:
            return None
        output = bytes(self._output[:end])
        del self._output[: end + len(END_OF_OUTPUT)]
        return output

    def _await_answer(self, deadline: float) -> tuple[dict | None, bytes, str]:
        """(answer, output, how): how is "answered", "timeout" or "exited"."""
        assert self._process is not None and self._process.stdout is not None
        stdout_fd = self._process.stdout.fileno()
        answer = self._take_frame()
        output = self._take_output()
        with selectors.DefaultSelector() as selector:
            selector.register(stdout_fd, selectors.EVENT_READ)
            selector.register(self._from_worker, selectors.EVENT_READ)
            while answer is None or output is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None, self._drain_output(), "timeout"
                for key, _ in selector.select(remaining):
                    data = os.read(key.fd, 1 << 16)
                    if key.fd == stdout_fd:
                        if not data:  # the worker's stdout closed: whatever came is all there is
                            selector.unregister(stdout_fd)
                            self._output += END_OF_OUTPUT
                        self._output += data
                        output = output if output is not None else self._take_output()
                    else:
                        if not data:  # the worker died
                            return None, self._drain_output(), "exited"
                        self._control += data
                        answer = answer or self._take_frame()
        return answer, output, "answered"

    def _drain_output(self) -> bytes:
        """What the worker printed before it stopped answering (without waiting on its children)."""
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while selector.select(0.05):
                data = os.read(fd, 1 << 16)
                if not data:
                    break
                self._output += data
        output = bytes(self._output).replace(END_OF_OUTPUT, b"")
        self._output.clear()
        return output

    def _exit_reason(self) -> str:
        """As Lambda words a runtime's exit (Go's ``os/exec`` wording)."""
        assert self._process is not None
        try:
            code = self._process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return "Runtime exited without providing a reason"
        if code < 0:
            return f"Runtime exited with error: signal: {signal.strsignal(-code).lower()}"
        return f"Runtime exited with error: exit status {code}"

    # -- the phases --

    def _init(self) -> tuple[list[str], dict | None]:
        """Start the worker and run the Init phase: (log lines, error or None)."""
        self.kill()  # a worker that died while idle leaves its pipes behind
        started = time.monotonic()
        self._spawn()
        answer, output, how = self._await_answer(started + INIT_TIMEOUT_S)
        self._init_duration_ms = (time.monotonic() - started) * 1000
        lines = lambda_logs.output_lines(output)
        if answer is not None:
            self._max_rss_kb = answer.get("max_rss_kb", 0)
        if answer is not None and answer.get("ok"):
            return lines, None
        if answer is not None:
            error = answer["error"]
        elif how == "timeout":
            error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"Init phase timed out after {INIT_TIMEOUT_S:.2f} seconds",
            }
        else:
            error = {"errorType": "Runtime.ExitError", "errorMessage": self._exit_reason()}
        lines.append(
            f"INIT_REPORT Init Duration: {self._init_duration_ms:.2f} ms\tPhase: init\tStatus: error\t"
            f"Error Type: {error['errorType']}"
        )
        self.kill()
        return lines, error

    def invoke(self, request: InvocationRequest) -> InvocationResult:
        """Run one invocation (starting the worker first if need be) and log it."""
        self.last_used = time.monotonic()
        spec = self.spec
        lines: list[str] = []
        init_error = None
        if not self.alive:
            lines, init_error = self._init()
        lines.append(lambda_logs.start_line(request.request_id, spec.version))
        started = time.monotonic()
        if init_error is not None:
            result = self._failed(request, init_error)
            output, how = b"", "init-failed"
        else:
            deadline_ms = int(time.time() * 1000) + spec.timeout_s * 1000
            message = {
                "request_id": request.request_id,
                "deadline_ms": deadline_ms,
                "invoked_function_arn": request.invoked_function_arn,
                "client_context": request.client_context,
            }
            if self._send(message, request.payload):
                answer, output, how = self._await_answer(started + spec.timeout_s)
            else:
                answer, output, how = None, self._drain_output(), "exited"
            result = self._result(request, answer, how)
        duration_ms = (time.monotonic() - started) * 1000
        lines += lambda_logs.output_lines(output)
        if how == "timeout":
            lines.append(lambda_logs.timed_out_line(request.request_id, spec.timeout_s))
        lines.append(lambda_logs.end_line(request.request_id))
        status, error_type = None, None
        if how == "timeout":
            status, duration_ms = "timeout", spec.timeout_s * 1000.0
        elif how in ("exited", "init-failed"):
            status, error_type = "error", result.error_type
        lines.append(
            Report(
                request_id=request.request_id,
                duration_ms=duration_ms,
                memory_size_mb=spec.memory_mb,
                max_memory_used_mb=max(1, math.ceil(self._max_rss_kb / 1024)),
                init_duration_ms=self._init_duration_ms,
                status=status,
                error_type=error_type,
            ).line()
        )
        self._init_duration_ms = None  # reported on the first invocation only
        self.log_stream.write(lines)
        result.log_lines = lines
        if how != "answered":
            self.kill()
        self.last_used = time.monotonic()
        return result

    def _result(self, request: InvocationRequest, answer: dict | None, how: str) -> InvocationResult:
        if how == "timeout":
            # https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html#troubleshooting-timeouts
            message = f"RequestId: {request.request_id} Error: Task timed out after {self.spec.timeout_s:.2f} seconds"
            return self._failed(request, {"errorType": "Sandbox.Timedout", "errorMessage": message})
        if how == "exited" or answer is None:
            message = f"RequestId: {request.request_id} Error: {self._exit_reason()}"
            return self._failed(request, {"errorType": "Runtime.ExitError", "errorMessage": message})
        self._max_rss_kb = answer.get("max_rss_kb", self._max_rss_kb)
        if answer["ok"]:
            return InvocationResult(
                request_id=request.request_id,
                payload=base64.b64decode(answer["payload_b64"]),
                function_error=None,
                error_type=None,
                log_lines=[],
                executed_version=self.spec.version,
            )
        return self._failed(request, answer["error"])

    def _failed(self, request: InvocationRequest, error: dict) -> InvocationResult:
        return InvocationResult(
            request_id=request.request_id,
            payload=json.dumps(error).encode("utf-8"),
            function_error="Unhandled",
            error_type=error.get("errorType"),
            log_lines=[],
            executed_version=self.spec.version,
        )


def new_request_id() -> str:
    return str(uuid.uuid4())
