"""Glue job runs that run: StartJobRun executes the job's script, with Glue's arguments and logs.

moto stores jobs, but its StartJobRun runs nothing and its runs report SUCCEEDED. This plane
answers the job-run operations of https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-jobs-runs.html:

* StartJobRun checks the job exists (``EntityNotFoundException``), that only one of
  AllocatedCapacity and MaxCapacity is given, and ``ExecutionProperty.MaxConcurrentRuns`` (default
  1: ``ConcurrentRunsExceededException``), then runs the script in a background process
  (``glue.job_launch``, ``glue.job_process``) with ``--JOB_ID``, ``--JOB_RUN_ID``, ``--JOB_NAME``,
  ``--TempDir`` and the job's DefaultArguments merged with the run's Arguments (``glue.job_arguments``).
  The run goes STARTING -> RUNNING -> SUCCEEDED, FAILED or TIMEOUT (the run's ``Timeout``, else
  the job's, in minutes); a failed run is retried ``MaxRetries`` times.
* GetJobRun and GetJobRuns report runs as the JobRun structure has them; BatchStopJobRun moves
  active runs to STOPPING, then STOPPED.
* UpdateJob (which moto lacks) overwrites the job definition, as AWS does.
* Triggers (``glue.triggers``): StartTrigger fires an ON_DEMAND trigger's actions and activates
  SCHEDULED and CONDITIONAL ones; SCHEDULED triggers fire on their cron, CONDITIONAL ones when the
  jobs and crawls they watch end as their predicate says. CreateTrigger refuses a bad schedule.

Local-only knob: a job tag ``localcloud:minute-seconds`` (e.g. ``"1"``) makes one minute of the
job's timeout last that many seconds, so that a test can see TIMEOUT quickly. AWS ignores it.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from datetime import datetime
from typing import Any

import boto3
from werkzeug.wrappers import Request, Response

from helpers.localcloud.events.minute_ticker import MinuteTicker
from helpers.localcloud.events.schedule_expression import InvalidScheduleExpression, parse_cron
from helpers.localcloud.glue import cloudwatch_logs, job_arguments
from helpers.localcloud.glue.job_launch import JobDefinition, LaunchError, environment, prepare
from helpers.localcloud.glue.job_process import run_script
from helpers.localcloud.glue.job_runs import JobRun, new_run_id
from helpers.localcloud.glue.s3_objects import S3Reader
from helpers.localcloud.glue.triggers import ConditionTracker
from helpers.localcloud.glue.wire import GlueError, entity_not_found, ok
from helpers.localcloud.awslambda.sandbox import DUMMY_CREDENTIALS
from helpers.localcloud.plane import DEFAULT_ACCOUNT_ID, Context, DataPlane, amz_target, signing_scope

log = logging.getLogger("localcloud.glue")

MINUTE_SECONDS_TAG = "localcloud:minute-seconds"
STOP_WAIT_S = 5.0  # how long stopping the server waits for runs to end their scripts
CRAWLER_POLL_S = 2.0  # how often crawls watched by conditional triggers are looked at
CRAWL_STATES = {"SUCCEEDED": "SUCCEEDED", "FAILED": "FAILED", "CANCELLED": "CANCELLED"}
JOB_UPDATE_MEMBERS = {
    "Description": "description",
    "LogUri": "log_uri",
    "Role": "role",
    "ExecutionProperty": "execution_property",
    "Command": "command",
    "DefaultArguments": "default_arguments",
    "NonOverridableArguments": "non_overridable_arguments",
    "Connections": "connections",
    "MaxRetries": "max_retries",
    "AllocatedCapacity": "allocated_capacity",
    "Timeout": "timeout",
    "MaxCapacity": "max_capacity",
    "WorkerType": "worker_type",
    "NumberOfWorkers": "number_of_workers",
    "SecurityConfiguration": "security_configuration",
    "NotificationProperty": "notification_property",
    "GlueVersion": "glue_version",
    "CodeGenConfigurationNodes": "code_gen_configuration_nodes",
    "ExecutionClass": "execution_class",
    "SourceControlDetails": "source_control_details",
}


class GlueJobs(DataPlane):
    name = "glue-jobs"
    OPERATIONS = {"StartJobRun", "GetJobRun", "GetJobRuns", "BatchStopJobRun", "UpdateJob", "StartTrigger"}

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._runs: dict[tuple[str, str], list[JobRun]] = {}  # (region, job) -> runs, oldest first
        self._lock = threading.Lock()
        self._conditions = ConditionTracker()
        self._ticker = MinuteTicker("glue-trigger-schedules", self._on_minute)
        self._stopping = threading.Event()
        self._crawl_watch = threading.Thread(target=self._watch_crawls, name="glue-crawl-watch", daemon=True)
        self._seen_crawls: dict[tuple[str, str], str | None] = {}
        self._run_threads: list[threading.Thread] = []

    # -- plane interface --

    def handles(self, request: Request) -> bool:
        target = amz_target(request)
        if request.method != "POST" or not target.startswith("AWSGlue."):
            return False
        if target == "AWSGlue.CreateTrigger":
            return self._bad_trigger_schedule(request) is not None
        return target[8:] in self.OPERATIONS

    def handle(self, request: Request) -> Response:
        operation = amz_target(request)[8:]
        if operation == "CreateTrigger":
            return GlueError("InvalidInputException", self._bad_trigger_schedule(request) or "").response()
        body = json.loads(request.get_data() or b"{}")
        region = signing_scope(request)[0] or "us-east-1"
        try:
            return ok(getattr(self, f"_{operation}")(region, body))
        except GlueError as error:
            return error.response()

    def start(self) -> None:
        self._ticker.start()
        self._crawl_watch.start()

    def stop(self) -> None:
        """Stop every active run (their scripts' process groups included) before the server exits."""
        self._stopping.set()
        self._ticker.stop()
        with self._lock:
            for runs in self._runs.values():
                for run in runs:
                    run.stop_requested.set()
            threads = list(self._run_threads)
        deadline = time.monotonic() + STOP_WAIT_S
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    # -- helpers --

    @staticmethod
    def _bad_trigger_schedule(request: Request) -> str | None:
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return None
        if body.get("Type") != "SCHEDULED":
            return None
        try:
            parse_cron(body.get("Schedule") or "")
        except InvalidScheduleExpression as error:
            return f"Schedule expression is not valid: {error}"
        return None

    def _job(self, region: str, name: str, missing_message: str | None = None) -> Any:
        from moto.glue.exceptions import JobNotFoundException

        try:
            return self.ctx.backend("glue", region).get_job(name)
        except JobNotFoundException as error:
            raise entity_not_found(missing_message or error.message) from None

    def _runs_of(self, region: str, job_name: str) -> list[JobRun]:
        with self._lock:
            return list(self._runs.get((region, job_name), []))

    def _minute_seconds(self, region: str, job: Any) -> float:
        value = self.ctx.backend("glue", region).get_tags(job.arn).get(MINUTE_SECONDS_TAG)
        try:
            seconds = float(value) if value is not None else 60.0
        except ValueError:
            seconds = 0.0
        if seconds <= 0:
            log.warning("job %s: tag %s=%r is not a positive number; ignored", job.name, MINUTE_SECONDS_TAG, value)
            return 60.0
        return seconds

    def _client(self, service: str, region: str) -> Any:
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.ctx.endpoint_url,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        )

    # -- starting runs --

    def _StartJobRun(self, region: str, body: dict) -> dict:
        job = self._job(region, body.get("JobName", ""), "Failed to start job run due to missing metadata")
        if body.get("AllocatedCapacity") and body.get("MaxCapacity"):
            raise GlueError("InvalidInputException", "Please set only Allocated Capacity or Max Capacity")
        if body.get("Timeout") is not None and int(body["Timeout"]) < 1:
            raise GlueError("InvalidInputException", "Timeout must be at least 1 minute")
        reserved = job_arguments.reserved_in(body.get("Arguments") or {})
        if reserved:
            raise GlueError("InvalidInputException", f"Arguments {', '.join(reserved)} are reserved by AWS Glue")
        previous = None
        if body.get("JobRunId"):
            previous = self._find_run(region, job.name, body["JobRunId"])
        run = self._start_run(
            region,
            job,
            arguments=body.get("Arguments") or {},
            timeout=body.get("Timeout"),
            max_capacity=body.get("MaxCapacity"),
            allocated_capacity=body.get("AllocatedCapacity"),
            worker_type=body.get("WorkerType"),
            number_of_workers=body.get("NumberOfWorkers"),
            security_configuration=body.get("SecurityConfiguration"),
            notification_property=body.get("NotificationProperty"),
            previous_run_id=previous.run_id if previous else None,
        )
        return {"JobRunId": run.run_id}

    def _start_run(
        self, region: str, job: Any, *, attempt: int = 0, trigger_name: str | None = None, **options: Any
    ) -> JobRun:
        definition = JobDefinition.of(job)
        max_capacity, allocated = definition.capacity(options.get("max_capacity"), options.get("allocated_capacity"))
        run = JobRun(
            job_name=job.name,
            command=definition.command,
            arguments=dict(options.get("arguments") or {}),
            timeout_minutes=int(options.get("timeout") or definition.timeout_minutes),
            max_capacity=max_capacity,
            allocated_capacity=allocated,
            worker_type=options.get("worker_type") or definition.worker_type,
            number_of_workers=options.get("number_of_workers") or definition.number_of_workers,
            glue_version=definition.glue_version,
            security_configuration=options.get("security_configuration") or definition.security_configuration,
            notification_property=options.get("notification_property") or definition.notification_property,
            attempt=attempt,
            previous_run_id=options.get("previous_run_id"),
            trigger_name=trigger_name,
            run_id=options.get("run_id") or new_run_id(),
        )
        with self._lock:
            runs = self._runs.setdefault((region, job.name), [])
            if sum(1 for other in runs if other.active) >= definition.max_concurrent_runs:
                raise GlueError("ConcurrentRunsExceededException", f"Concurrent runs exceeded for {job.name}")
            runs.append(run)
        minute_seconds = self._minute_seconds(region, job)
        thread = threading.Thread(
            target=self._execute, args=(region, definition, run, minute_seconds, options), name="glue-job-run", daemon=True
        )
        with self._lock:
            self._run_threads = [other for other in self._run_threads if other.is_alive()] + [thread]
        thread.start()
        return run

    def _execute(self, region: str, definition: JobDefinition, run: JobRun, minute_seconds: float, options: dict) -> None:
        def logs() -> Any:
            return self.ctx.backend("logs", region)

        def write_output(lines: list[str]) -> None:
            cloudwatch_logs.write(logs, f"{run.log_group}/output", run.run_id, lines)

        def write_error(lines: list[str]) -> None:
            cloudwatch_logs.write(logs, f"{run.log_group}/error", run.run_id, lines)

        work_dir = self.ctx.state_dir / "glue" / "job-runs" / run.run_id
        merged = job_arguments.merged_arguments(
            definition.default_arguments, run.arguments, definition.non_overridable_arguments
        )
        try:
            script = prepare(S3Reader(self.ctx), definition, merged, work_dir)
            if run.stop_requested.is_set():
                run.move("STOPPED")
            else:
                run.move("RUNNING")
                argv = job_arguments.script_argv(
                    merged,
                    job_name=definition.name,
                    run_id=run.run_id,
                    temp_dir=job_arguments.default_temp_dir(DEFAULT_ACCOUNT_ID, region),
                )
                outcome = run_script(
                    script,
                    argv,
                    environment(work_dir, self.ctx.endpoint_url, region),
                    run.timeout_minutes * minute_seconds,
                    run.timeout_minutes,
                    run.stop_requested,
                    write_output,
                    write_error,
                )
                run.move(outcome.state, outcome.error_message)
        except LaunchError as error:
            write_error([str(error)])
            run.move("FAILED", str(error))
        except Exception as error:  # a bug of the local cloud: the run fails, the server goes on
            log.exception("job run %s of %s failed to run", run.run_id, definition.name)
            run.move("FAILED", f"Internal error of the local cloud's job runner: {error!r}")
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        self._after_run(region, definition, run, options)

    def _after_run(self, region: str, definition: JobDefinition, run: JobRun, options: dict) -> None:
        if self._stopping.is_set():
            return
        if run.state == "FAILED" and run.attempt < definition.max_retries:
            try:
                job = self._job(region, definition.name)
                first = run.previous_run_id if run.attempt else run.run_id
                # Glue names a retry after the first run: jr_..._attempt_1, jr_..._attempt_2
                retry = {**options, "previous_run_id": first, "run_id": f"{first}_attempt_{run.attempt + 1}"}
                self._start_run(region, job, attempt=run.attempt + 1, trigger_name=run.trigger_name, **retry)
            except GlueError as error:
                log.error("job %s: retry of run %s not started: %s", definition.name, run.run_id, error.message)
        triggers = list(self.ctx.backend("glue", region).triggers.values())
        for trigger in self._conditions.observe(region, triggers, job=definition.name, state=run.state):
            self._fire(region, trigger)

    # -- reading and stopping runs --

    def _find_run(self, region: str, job_name: str, run_id: str) -> JobRun:
        for run in self._runs_of(region, job_name):
            if run.run_id == run_id:
                return run
        raise entity_not_found(f"Job run {run_id} not found.")

    def _GetJobRun(self, region: str, body: dict) -> dict:
        job = self._job(region, body.get("JobName", ""))
        return {"JobRun": self._find_run(region, job.name, body.get("RunId", "")).as_dict()}

    def _GetJobRuns(self, region: str, body: dict) -> dict:
        job = self._job(region, body.get("JobName", ""))
        runs = [run.as_dict() for run in reversed(self._runs_of(region, job.name))]  # newest first
        start = int(body.get("NextToken") or 0)
        limit = int(body.get("MaxResults") or 100)
        page = runs[start : start + limit]
        return {"JobRuns": page, "NextToken": str(start + limit) if start + limit < len(runs) else None}

    def _BatchStopJobRun(self, region: str, body: dict) -> dict:
        job_name = body.get("JobName", "")
        stopped, errors = [], []
        for run_id in body.get("JobRunIds", []):
            run = next((r for r in self._runs_of(region, job_name) if r.run_id == run_id), None)
            if run is None:
                errors.append(_stop_error(job_name, run_id, "EntityNotFoundException", f"Job run {run_id} not found."))
            elif not run.active:
                message = f"Job run {run_id} cannot be stopped in state {run.state}."
                errors.append(_stop_error(job_name, run_id, "InvalidInputException", message))
            else:
                run.stop_requested.set()
                if run.state != "STOPPING":
                    run.move("STOPPING")
                stopped.append({"JobName": job_name, "JobRunId": run_id})
        return {"SuccessfulSubmissions": stopped, "Errors": errors}

    # -- the job definition --

    def _UpdateJob(self, region: str, body: dict) -> dict:
        from moto.core.utils import utcnow

        job = self._job(region, body.get("JobName", ""))
        update = body.get("JobUpdate") or {}
        missing = [member for member in ("Role", "Command") if not update.get(member)]
        if missing:  # JobUpdate: Role and Command are "(required)"
            raise GlueError("InvalidInputException", f"JobUpdate needs {' and '.join(missing)}")
        for member, attribute in JOB_UPDATE_MEMBERS.items():  # "completely overwritten"
            value = update.get(member)
            if member in ("ExecutionProperty", "DefaultArguments") and value is None:
                value = {}
            setattr(job, attribute, value)
        job.execution_class = job.execution_class or "STANDARD"
        job.last_modified_on = utcnow()
        return {"JobName": job.name}

    # -- triggers --

    def _StartTrigger(self, region: str, body: dict) -> dict:
        from moto.glue.exceptions import TriggerNotFoundException

        backend = self.ctx.backend("glue", region)
        try:
            trigger = backend.get_trigger(body.get("Name", ""))
        except TriggerNotFoundException as error:
            raise entity_not_found(error.message) from None
        if trigger.trigger_type == "ON_DEMAND":
            self._fire(region, trigger)
        else:
            backend.start_trigger(trigger.name)
        return {"Name": trigger.name}

    def _fire(self, region: str, trigger: Any) -> None:
        log.info("glue trigger %s fires", trigger.name)
        for action in trigger.actions:
            try:
                if action.job_name:
                    job = self._job(region, action.job_name)
                    self._start_run(
                        region,
                        job,
                        trigger_name=trigger.name,
                        arguments=action.arguments,
                        timeout=action.timeout,
                        notification_property=action.notification_property,
                        security_configuration=action.security_configuration,
                    )
                elif action.crawler_name:
                    self._client("glue", region).start_crawler(Name=action.crawler_name)
            except GlueError as error:
                log.error("trigger %s: action on job %s not started: %s", trigger.name, action.job_name, error.message)
            except Exception:
                log.exception("trigger %s: action on crawler %s not started", trigger.name, action.crawler_name)

    def _on_minute(self, minute: datetime) -> None:
        from moto.glue.models import glue_backends

        for _, regions in list(glue_backends.items()):
            for region, backend in list(regions.items()):
                for trigger in list(backend.triggers.values()):
                    if trigger.trigger_type != "SCHEDULED" or trigger.state != "ACTIVATED":
                        continue
                    try:
                        due = parse_cron(trigger.schedule).matches(minute)
                    except InvalidScheduleExpression as error:
                        log.error("trigger %s: schedule %s", trigger.name, error)
                        continue
                    if due:
                        self._fire(region, trigger)

    def _watch_crawls(self) -> None:
        """Feed crawl endings to conditional triggers that wait for crawlers (only while some do)."""
        from moto.glue.models import glue_backends

        while not self._stopping.wait(CRAWLER_POLL_S):
            for _, regions in list(glue_backends.items()):
                for region, backend in list(regions.items()):
                    triggers = list(backend.triggers.values())
                    for crawler_name in self._conditions.watched_crawlers(triggers):
                        try:
                            self._check_crawl(region, crawler_name, triggers)
                        except Exception:
                            log.exception("watching crawler %s for conditional triggers", crawler_name)

    def _check_crawl(self, region: str, crawler_name: str, triggers: list[Any]) -> None:
        crawler = self._client("glue", region).get_crawler(Name=crawler_name)["Crawler"]
        last = crawler.get("LastCrawl") or {}
        key = (region, crawler_name)
        if key not in self._seen_crawls:  # crawls that ended before the trigger waited do not count
            self._seen_crawls[key] = last.get("MessagePrefix")
            return
        if last.get("MessagePrefix") and last["MessagePrefix"] != self._seen_crawls[key]:
            self._seen_crawls[key] = last["MessagePrefix"]
            state = CRAWL_STATES.get(last.get("Status", ""))
            if state:
                for trigger in self._conditions.observe(region, triggers, crawler=crawler_name, state=state):
                    self._fire(region, trigger)


def _stop_error(job_name: str, run_id: str, code: str, message: str) -> dict:
    return {"JobName": job_name, "JobRunId": run_id, "ErrorDetail": {"ErrorCode": code, "ErrorMessage": message}}
