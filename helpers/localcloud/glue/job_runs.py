"""A Glue job run as GetJobRun reports it.

https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-jobs-runs.html (JobRun structure): a run
goes STARTING -> RUNNING -> SUCCEEDED, FAILED (with ``ErrorMessage``) or TIMEOUT, or STOPPING ->
STOPPED after BatchStopJobRun. ``StartedOn`` is when the run was requested, ``CompletedOn`` when it
ended, ``ExecutionTime`` the seconds it ran; ``Attempt`` counts retries (``MaxRetries``), each a new
run named after the first one (``jr_..._attempt_1``) whose ``PreviousRunId`` names it.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone

ACTIVE_STATES = ("STARTING", "RUNNING", "STOPPING", "WAITING")
FINAL_STATES = ("SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR")
PYTHON_SHELL_LOG_GROUP = "/aws-glue/python-jobs"
SPARK_LOG_GROUP = "/aws-glue/jobs"


def new_run_id() -> str:
    return "jr_" + secrets.token_hex(32)


@dataclass
class JobRun:
    job_name: str
    command: str  # pythonshell, glueetl...
    arguments: dict[str, str]  # the run's own Arguments, as GetJobRun shows them
    timeout_minutes: int
    max_capacity: float | None
    allocated_capacity: int | None
    worker_type: str | None = None
    number_of_workers: int | None = None
    glue_version: str | None = None
    security_configuration: str | None = None
    notification_property: dict | None = None
    attempt: int = 0
    previous_run_id: str | None = None
    trigger_name: str | None = None
    run_id: str = field(default_factory=new_run_id)
    state: str = "STARTING"
    error_message: str | None = None
    started_on: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    last_modified_on: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    running_since: datetime | None = None
    completed_on: datetime | None = None
    stop_requested: threading.Event = field(default_factory=threading.Event)

    @property
    def log_group(self) -> str:
        return PYTHON_SHELL_LOG_GROUP if self.command == "pythonshell" else SPARK_LOG_GROUP

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def move(self, state: str, error_message: str | None = None) -> None:
        now = datetime.now(timezone.utc)
        self.state, self.last_modified_on = state, now
        if error_message is not None:
            self.error_message = error_message
        if state == "RUNNING":
            self.running_since = now
        if state in FINAL_STATES:
            self.completed_on = now

    @property
    def execution_seconds(self) -> int:
        if self.running_since is None:
            return 0
        end = self.completed_on or datetime.now(timezone.utc)
        return round((end - self.running_since).total_seconds())

    def as_dict(self) -> dict:
        return {
            "Id": self.run_id,
            "Attempt": self.attempt,
            "PreviousRunId": self.previous_run_id,
            "TriggerName": self.trigger_name,
            "JobName": self.job_name,
            "JobMode": "SCRIPT",
            "JobRunQueuingEnabled": False,
            "StartedOn": self.started_on,
            "LastModifiedOn": self.last_modified_on,
            "CompletedOn": self.completed_on,
            "JobRunState": self.state,
            "Arguments": self.arguments or None,
            "ErrorMessage": self.error_message,
            "PredecessorRuns": [],
            "AllocatedCapacity": self.allocated_capacity,
            "ExecutionTime": self.execution_seconds,
            "Timeout": self.timeout_minutes,
            "MaxCapacity": self.max_capacity,
            "WorkerType": self.worker_type,
            "NumberOfWorkers": self.number_of_workers,
            "SecurityConfiguration": self.security_configuration,
            "LogGroupName": self.log_group,
            "NotificationProperty": self.notification_property,
            "GlueVersion": self.glue_version,
            "ExecutionClass": "STANDARD",
        }
