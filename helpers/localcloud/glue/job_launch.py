"""Everything a job run needs before its script starts: the script, its libraries, its environment.

* ``Command.ScriptLocation`` is read from S3; ``--extra-py-files`` (``.py`` files and ``.zip``
  archives in S3) are downloaded next to it and put on ``PYTHONPATH``
  (https://docs.aws.amazon.com/glue/latest/dg/add-job-python.html);
  ``--additional-python-modules`` must already be installed in the workbook's virtualenv (nothing
  is installed at run time), else the run fails and says which are missing.
* ``pythonshell`` scripts run as they are. There is no Spark here: a ``glueetl`` script that
  imports ``awsglue`` or ``pyspark`` fails with a message saying so; one that does not is run like
  a Python shell script. ``gluestreaming`` and ``glueray`` jobs fail. The awsglue library is not
  installed either: a Python shell script that imports it fails with a message pointing at
  ``job_arguments`` (parse ``sys.argv`` with argparse instead; that runs on both clouds).
* The environment is the one a Glue job has for boto3 (region, credentials) plus
  ``AWS_ENDPOINT_URL`` pointing at the local cloud, so the script's clients reach it unchanged.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.localcloud.glue.s3_objects import NoSuchBucket, S3Path, S3Reader
from helpers.localcloud.awslambda.sandbox import DUMMY_CREDENTIALS

SPARK_IMPORT = re.compile(r"^\s*(?:from|import)\s+(awsglue|pyspark)\b", re.MULTILINE)
REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
SUPPORTED_COMMANDS = ("pythonshell", "glueetl")
DEFAULT_TIMEOUT_MINUTES = 2880  # "When the value is left blank, the timeout is defaulted to 2880 minutes."


class LaunchError(Exception):
    """The run fails before its script starts; the message is its ErrorMessage."""


@dataclass(frozen=True)
class JobDefinition:
    """What a run needs of the job moto stores, copied when the run starts."""

    name: str
    command: str
    script_location: str
    default_arguments: dict
    non_overridable_arguments: dict
    timeout_minutes: int
    max_capacity: float | None
    allocated_capacity: int | None
    worker_type: str | None
    number_of_workers: int | None
    glue_version: str | None
    max_retries: int
    max_concurrent_runs: int
    security_configuration: str | None
    notification_property: dict | None

    @classmethod
    def of(cls, job: Any) -> JobDefinition:
        command = job.command or {}
        return cls(
            name=job.name,
            command=command.get("Name") or "glueetl",
            script_location=command.get("ScriptLocation") or "",
            default_arguments=dict(job.default_arguments or {}),
            non_overridable_arguments=dict(job.non_overridable_arguments or {}),
            timeout_minutes=int(job.timeout or DEFAULT_TIMEOUT_MINUTES),
            max_capacity=float(job.max_capacity) if job.max_capacity is not None else None,
            allocated_capacity=int(job.allocated_capacity) if job.allocated_capacity is not None else None,
            worker_type=job.worker_type,
            number_of_workers=job.number_of_workers,
            glue_version=job.glue_version,
            max_retries=int(job.max_retries or 0),
            max_concurrent_runs=int((job.execution_property or {}).get("MaxConcurrentRuns", 1)),
            security_configuration=job.security_configuration,
            notification_property=job.notification_property,
        )

    def capacity(self, run_max_capacity: float | None, run_allocated: int | None) -> tuple[float | None, int | None]:
        """(MaxCapacity, AllocatedCapacity) of a run: a Python shell job gets 0.0625 DPU unless told
        1; a Spark job with no worker type 10 DPUs."""
        if self.command == "pythonshell":
            return float(run_max_capacity or self.max_capacity or 0.0625), 0
        if self.worker_type:
            return None, None
        capacity = float(run_max_capacity or run_allocated or self.max_capacity or self.allocated_capacity or 10)
        return capacity, int(capacity)


def read_s3(reader: S3Reader, location: str, what: str) -> bytes:
    try:
        path = S3Path.parse(location)
        data = reader.read(path.bucket, path.prefix)
    except (ValueError, NoSuchBucket):
        data = b""
    if not data:
        raise LaunchError(f"{what} {location} does not exist or is empty")
    return data


def check_script(command: str, source: str) -> None:
    if command not in SUPPORTED_COMMANDS:
        raise LaunchError(f"{command} jobs are not supported by the local cloud; use a pythonshell job")
    imported = SPARK_IMPORT.search(source)
    if imported and command == "glueetl":
        raise LaunchError(
            f"Spark jobs are not supported by the local cloud: the script imports {imported.group(1)}. "
            "Write it for a Python shell job (Command.Name 'pythonshell', pandas/awswrangler) or run it on AWS."
        )
    if imported:
        raise LaunchError(
            f"The local cloud has no {imported.group(1)} library: parse the job arguments from sys.argv "
            "with argparse instead of awsglue.utils.getResolvedOptions (that runs on AWS too)."
        )


def missing_modules(requirements: str) -> list[str]:
    """Names in ``--additional-python-modules`` that are not installed."""
    missing = []
    for requirement in filter(None, (part.strip() for part in requirements.split(","))):
        match = REQUIREMENT_NAME.match(requirement)
        name = match.group(1) if match else requirement
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(requirement)
    return missing


def prepare(reader: S3Reader, definition: JobDefinition, arguments: dict[str, str], work_dir: Path) -> Path:
    """Write the script (and its extra files) under ``work_dir``; return the script's path."""
    source = read_s3(reader, definition.script_location, "Script").decode("utf-8", errors="replace")
    check_script(definition.command, source)
    modules = arguments.get("--additional-python-modules")
    if modules and (missing := missing_modules(modules)):
        raise LaunchError(
            f"--additional-python-modules {', '.join(missing)}: the local cloud installs nothing at run time "
            "and these are not in the workbook's environment"
        )
    work_dir.mkdir(parents=True, exist_ok=True)
    extra_dir = work_dir / "extra"
    extra_dir.mkdir(exist_ok=True)
    for location in filter(None, (part.strip() for part in arguments.get("--extra-py-files", "").split(","))):
        name = location.rsplit("/", 1)[-1]
        if not name.endswith((".py", ".zip")):
            raise LaunchError(f"--extra-py-files {location}: only .py and .zip files are supported by the local cloud")
        (extra_dir / name).write_bytes(read_s3(reader, location, "Extra Python file"))
    script = work_dir / (definition.script_location.rsplit("/", 1)[-1] or "script.py")
    script.write_text(source, encoding="utf-8")
    return script


def environment(work_dir: Path, endpoint_url: str, region: str) -> dict[str, str]:
    extra_dir = work_dir / "extra"
    python_path = [str(extra_dir)] + [str(path) for path in sorted(extra_dir.glob("*.zip"))]
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(work_dir)),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(python_path),
        "AWS_ENDPOINT_URL": endpoint_url,  # not a Glue variable: it points boto3 at the local cloud
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        **DUMMY_CREDENTIALS,
    }
