"""Stream invoice lines from a CSV file to the workbook's API, as a shop's systems would.

Each row becomes one JSON event with the source's column names plus ``EventId`` (file name and row
number), the id that lets the consumers store a row once however often it is delivered. Events
go out in batches (one POST of up to 500), from several threads, at a chosen rate; throttling
(429), server errors (5xx) and connection errors are retried with exponential backoff and full
jitter; a batch the API refuses for some bad events (400) is sent again without them, and those are
reported as rejected with the API's reasons.

The same code talks to the local cloud and to a real API Gateway stage: plain HTTPS plus the
``x-api-key`` header.

Command line (``python -m helpers.client --help``)::

    python -m helpers.client --limit 1000 --rate 200
    python -m helpers.client data/online_retail_sample.csv --since 2010-12-01 --until 2010-12-03 --dry-run

Python: ``stream_rows(...) -> Summary``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import requests
from dotenv import dotenv_values
from tqdm import tqdm

from helpers import config, data, outage

MAX_BATCH = 500  # events per POST: the API's limit (one Kinesis PutRecords)
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 10.0
URL_SETTING = "WORKBOOK_API_URL"
KEY_SETTING = "WORKBOOK_API_KEY"


class ClientError(RuntimeError):
    """The API cannot be reached as configured (no URL, a refused key...): nothing more is sent."""


@dataclass
class Summary:
    """What a run sent and what became of it."""

    selected: int = 0  # rows chosen from the file
    sent: int = 0  # distinct events posted at least once
    accepted: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (EventId, the API's reason): not to be re-sent
    failed: list[tuple[str, str]] = field(default_factory=list)  # (EventId, last error): retries spent
    requests: int = 0
    retries: int = 0
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def rows_per_second(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    def rejection_reasons(self) -> Counter[str]:
        return Counter(reason for _, reason in self.rejected)

    def __str__(self) -> str:
        if self.dry_run:
            return f"dry run: {self.selected:,} rows selected, nothing sent"
        lines = [
            f"selected {self.selected:,} rows, sent {self.sent:,} events in {self.requests:,} requests "
            f"({self.retries:,} retries) in {self.seconds:.1f} s",
            f"accepted {self.accepted:,} ({self.rows_per_second:,.0f} rows/s), "
            f"rejected {len(self.rejected):,}, failed {len(self.failed):,}",
        ]
        for reason, count in self.rejection_reasons().most_common(10):
            lines.append(f"  rejected x{count}: {reason}")
        for event_id, error in self.failed[:10]:
            lines.append(f"  failed {event_id}: {error}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Rows -> events


def select_rows(
    frame: pd.DataFrame,
    *,
    limit: int | None = None,
    offset: int = 0,
    date: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> pd.DataFrame:
    """Rows by date (one day, or a range; a date alone in ``until`` includes that whole day), then
    ``offset`` rows skipped, then the first ``limit``. The index (the row's position in the file) is kept."""
    if date is not None and (since is not None or until is not None):
        raise ValueError("give either date or since/until, not both")
    if date is not None:
        since = until = date
    dates = frame["InvoiceDate"]
    keep = pd.Series(True, index=frame.index)
    if since is not None:
        keep &= dates >= pd.Timestamp(since)
    if until is not None:
        end = pd.Timestamp(until)
        whole_day = end == end.normalize() and ":" not in until
        keep &= dates < end + pd.Timedelta(days=1) if whole_day else dates <= end
    if offset < 0 or (limit is not None and limit < 0):
        raise ValueError("offset and limit cannot be negative")
    chosen = frame[keep].iloc[offset:]
    return chosen if limit is None else chosen.iloc[:limit]


def event_id(source_name: str, position: int) -> str:
    """The stable id of a source row: file name and 1-based row number (header not counted)."""
    return f"{source_name}:{position + 1}"


def to_events(frame: pd.DataFrame, source_name: str) -> list[dict[str, Any]]:
    """One JSON-ready event per row, with the source's column names and its EventId."""
    events = []
    for position, row in zip(frame.index, frame.itertuples(index=False)):
        events.append(
            {
                "EventId": event_id(source_name, int(position)),
                "InvoiceNo": row.InvoiceNo,
                "StockCode": row.StockCode,
                "Description": None if pd.isna(row.Description) else row.Description,
                "Quantity": int(row.Quantity),
                "InvoiceDate": row.InvoiceDate.strftime("%Y-%m-%d %H:%M:%S"),
                "UnitPrice": float(row.UnitPrice),
                "CustomerID": None if pd.isna(row.CustomerID) else row.CustomerID,
                "Country": row.Country,
            }
        )
    return events


def batches(events: Sequence[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"batch size {size}: choose 1 to {MAX_BATCH}")
    for start in range(0, len(events), size):
        yield list(events[start : start + size])


# ---------------------------------------------------------------------------------------------
# Sending


class RateLimiter:
    """At most ``rate`` events per second over all threads (None: no limit)."""

    def __init__(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("the rate must be positive")
        self.rate = rate
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self, events: int) -> None:
        if self.rate is None:
            return
        with self._lock:
            start = max(self._next, time.monotonic())
            self._next = start + events / self.rate
        time.sleep(max(0.0, start - time.monotonic()))


def backoff_seconds(attempt: int, retry_after: str | None = None) -> float:
    """Exponential backoff with full jitter, never sooner than the server's Retry-After."""
    delay = random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))
    if retry_after and retry_after.isdigit():
        delay = max(delay, float(retry_after))
    return delay


@dataclass
class BatchOutcome:
    accepted: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    requests: int = 0
    retries: int = 0


def _reason(fields: dict[str, str]) -> str:
    return "; ".join(f"{name}: {problem}" for name, problem in sorted(fields.items()))


class Sender:
    """POSTs batches to the API, one ``requests.Session`` per thread."""

    def __init__(
        self, url: str, api_key: str | None, retries: int, timeout_s: float, sleep: Callable[[float], None] = time.sleep,
        local_cloud: config.Settings | None = None,
    ) -> None:
        self.url = url
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["x-api-key"] = api_key
        self.retries = retries
        # The local cloud ``url`` belongs to, if any: when it is down, retrying is pointless.
        self.local_cloud = local_cloud
        self.timeout_s = timeout_s
        self.sleep = sleep
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def send(self, batch: list[dict[str, Any]]) -> BatchOutcome:
        outcome = BatchOutcome()
        pending = batch
        attempt = 0
        while pending:
            outcome.requests += 1
            error, retry_after = None, None
            try:
                response = self._session().post(self.url, data=json.dumps(pending), headers=self.headers, timeout=self.timeout_s)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if self.local_cloud is not None and outage.local_cloud_down(self.local_cloud):
                    raise outage.LocalCloudUnreachable(self.local_cloud) from exc
                error = f"{type(exc).__name__}: {exc}"
            else:
                body = _json_or_text(response)
                status = response.status_code
                if status == 200:
                    outcome.accepted += len(pending)
                    return outcome
                if status == 400 and isinstance(body, dict) and body.get("errors"):
                    bad = {
                        item["index"]: _reason(item.get("fields", {}))
                        for item in body["errors"]
                        if isinstance(item.get("index"), int) and 0 <= item["index"] < len(pending)
                    } or {i: _message(body) for i in range(len(pending))}
                    outcome.rejected += [(pending[i].get("EventId", f"#{i}"), reason) for i, reason in bad.items()]
                    pending = [event for i, event in enumerate(pending) if i not in bad]
                    continue  # the rest were valid: send them again at once
                if status == 503 and isinstance(body, dict) and "failed_events" in body:
                    outcome.accepted += int(body.get("accepted", 0))
                    pending = [pending[item["index"]] for item in body["failed_events"]]
                    error = "Kinesis did not accept: " + ", ".join(sorted({f["ErrorCode"] for f in body["failed_events"]}))
                elif status in RETRYABLE_STATUS:
                    error = f"HTTP {status}: {_message(body)}"
                elif status in (401, 403, 404):
                    raise ClientError(f"HTTP {status} from {self.url}: {_message(body)} (check the API URL and key)")
                else:
                    outcome.rejected += [(event.get("EventId", "?"), f"HTTP {status}: {_message(body)}") for event in pending]
                    return outcome
                retry_after = response.headers.get("Retry-After")
            if attempt >= self.retries:
                outcome.failed += [(event.get("EventId", "?"), error or "") for event in pending]
                return outcome
            outcome.retries += 1
            self.sleep(backoff_seconds(attempt, retry_after))
            attempt += 1
        return outcome


def _json_or_text(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("message") or body.get("Message") or body)
    return str(body)[:200]


# ---------------------------------------------------------------------------------------------
# Where to send


def _setting(name: str) -> str | None:
    value = os.environ.get(name)
    if not value:
        env_file = config.REPO_ROOT / ".env"
        value = dotenv_values(env_file).get(name) if env_file.exists() else None
    return value or None


def discover_endpoint() -> tuple[str, str | None]:
    """The URL of the workbook's API (``config.Names``: api_name, api_stage, api_resource) and the
    value of an API key of a usage plan on that stage, looked up with API Gateway's control plane."""
    from helpers import apigateway, aws

    names = config.settings().names
    gateway = aws.client("apigateway")
    apis = [api for api in gateway.get_rest_apis(limit=500)["items"] if api["name"] == names.api_name]
    if not apis:
        raise ClientError(f"no REST API named {names.api_name!r}: deploy it (notebook 03), or give --api-url")
    api_id = apis[0]["id"]
    url = apigateway.invoke_url(api_id, names.api_stage, f"/{names.api_resource}")
    for plan in gateway.get_usage_plans(limit=500)["items"]:
        if any(stage["apiId"] == api_id and stage["stage"] == names.api_stage for stage in plan.get("apiStages", [])):
            keys = gateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
            if keys:
                return url, gateway.get_api_key(apiKey=keys[0]["id"], includeValue=True)["value"]
    return url, None


def resolve_endpoint(api_url: str | None, api_key: str | None) -> tuple[str, str | None]:
    """Arguments first, then WORKBOOK_API_URL / WORKBOOK_API_KEY (environment or .env), then discovery."""
    url = api_url or _setting(URL_SETTING)
    key = api_key or _setting(KEY_SETTING)
    if url:
        return url, key
    discovered_url, discovered_key = discover_endpoint()
    return discovered_url, key or discovered_key


# ---------------------------------------------------------------------------------------------
# The run


def stream_rows(
    csv_path: str | Path | None = None,
    *,
    api_url: str | None = None,
    api_key: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    date: str | None = None,
    since: str | None = None,
    until: str | None = None,
    rate: float | None = None,
    batch_size: int = MAX_BATCH,
    concurrency: int = 4,
    retries: int = 6,
    timeout_s: float = 60.0,
    dry_run: bool = False,
    progress: bool = True,
    out=sys.stdout,
) -> Summary:
    """Send the selected rows of ``csv_path`` (default: the bundled sample) to the API; the summary."""
    path = Path(csv_path) if csv_path else data.sample_path()
    frame = select_rows(data.load_invoices(path), limit=limit, offset=offset, date=date, since=since, until=until)
    events = to_events(frame, path.name)
    groups = list(batches(events, batch_size))
    summary = Summary(selected=len(events), dry_run=dry_run)
    if dry_run:
        print(f"would send {len(events):,} events from {path.name} in {len(groups):,} POSTs of up to {batch_size}", file=out)
        for event in events[:3]:
            print(json.dumps(event), file=out)
        if len(events) > 3:
            print(f"... and {len(events) - 3:,} more", file=out)
        return summary
    url, key = resolve_endpoint(api_url, api_key)
    s = config.settings()
    sender = Sender(url, key, retries, timeout_s, local_cloud=s if s.is_local and url.startswith(s.local_endpoint) else None)
    limiter = RateLimiter(rate)

    def send(batch: list[dict[str, Any]]) -> BatchOutcome:
        limiter.acquire(len(batch))
        return sender.send(batch)

    started = time.monotonic()
    with tqdm(total=len(events), unit="event", disable=not progress, file=sys.stderr) as bar, ThreadPoolExecutor(max(1, concurrency)) as pool:
        try:
            for outcome in pool.map(send, groups):
                summary.accepted += outcome.accepted
                summary.rejected += outcome.rejected
                summary.failed += outcome.failed
                summary.requests += outcome.requests
                summary.retries += outcome.retries
                bar.update(outcome.accepted + len(outcome.rejected) + len(outcome.failed))
        except outage.LocalCloudUnreachable:
            pool.shutdown(wait=False, cancel_futures=True)  # the batches not sent yet would fail the same way
            raise
    summary.seconds = time.monotonic() - started
    summary.sent = len(events)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.client", description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", nargs="?", help="invoice CSV (default: the bundled sample)")
    parser.add_argument("--limit", type=int, help="send the first N selected rows")
    parser.add_argument("--offset", type=int, default=0, help="skip the first N selected rows")
    parser.add_argument("--date", help="only rows of this day, e.g. 2010-12-01")
    parser.add_argument("--since", help="only rows at or after this date/time")
    parser.add_argument("--until", help="only rows up to this date (the whole day) or date/time")
    parser.add_argument("--rate", type=float, help="events per second (default: as fast as the API answers)")
    parser.add_argument("--batch-size", type=int, default=MAX_BATCH, help=f"events per POST, 1 to {MAX_BATCH}")
    parser.add_argument("--concurrency", type=int, default=4, help="POSTs in flight at once")
    parser.add_argument("--retries", type=int, default=6, help="retries of a batch on 429, 5xx or a connection error")
    parser.add_argument("--api-url", help=f"the POST URL (default: {URL_SETTING}, else the deployed API)")
    parser.add_argument("--api-key", help=f"the x-api-key value (default: {KEY_SETTING}, else the usage plan's key)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be sent, send nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        summary = stream_rows(
            args.csv,
            api_url=args.api_url,
            api_key=args.api_key,
            limit=args.limit,
            offset=args.offset,
            date=args.date,
            since=args.since,
            until=args.until,
            rate=args.rate,
            batch_size=args.batch_size,
            concurrency=args.concurrency,
            retries=args.retries,
            dry_run=args.dry_run,
            progress=not args.no_progress,
        )
    except (ClientError, outage.LocalCloudUnreachable, ValueError, FileNotFoundError, data.InvoiceDataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary)
    return 0 if not summary.failed else 1


if __name__ == "__main__":
    sys.exit(main())
