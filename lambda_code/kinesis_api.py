"""Lambda ``kinesis_api``: the REST API in front of the stream.

POST one invoice line (a JSON object) or up to 500 (a JSON array): every event is validated, then
all of them go to Kinesis with PutRecords, PartitionKey = InvoiceNo so that the lines of an
invoice stay in order on one shard. A request with one bad event is refused as a whole (400, the
body names each bad field by event index) and nothing is written.

GET ``?InvoiceNo=`` answers that invoice's lines from DynamoDB, GET ``?CustomerID=`` the
customer's invoices.

Two API Gateway integrations call this function:
- Lambda proxy integration: the event has ``httpMethod``, ``queryStringParameters`` and ``body``
  (a string); the function answers ``{statusCode, headers, body}``.
- Lambda custom (non-proxy) integration with the console's "Method Request passthrough" mapping
  template (the course's setup): the event has ``context.http-method``, ``params.querystring`` and
  ``body-json`` (already parsed). The function answers the plain JSON object on success and raises
  ``ApiError`` whose message starts with the status, ``[400] {...}``, so that the integration
  responses map errors with selection patterns such as ``^\\[400\\].*`` ("Handle Lambda errors in
  API Gateway", https://docs.aws.amazon.com/apigateway/latest/developerguide/handle-errors-in-lambda-integration.html).

Boto3 and the standard library only: this file is deployed to AWS Lambda (Python 3.12) as it is.
"""

from __future__ import annotations

import base64
import json
import math
import os
import random
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

STREAM_NAME = os.environ.get("STREAM_NAME", "api-data")
INVOICE_TABLE = os.environ.get("INVOICE_TABLE", "invoice")
CUSTOMER_TABLE = os.environ.get("CUSTOMER_TABLE", "customer")

# Kinesis PutRecords: "Each PutRecords request can support up to 500 records. Each record in the
# request can be as large as 1 MiB ... The entire request can be as large as 5 MiB, including
# partition keys" (Kinesis API Reference, PutRecords).
MAX_EVENTS_PER_REQUEST = 500
MAX_RECORD_BYTES = 1024 * 1024
MAX_PUT_RECORDS_BYTES = 5 * 1024 * 1024
MAX_BODY_BYTES = MAX_PUT_RECORDS_BYTES  # a larger body could not go to Kinesis in one request anyway
PUT_ATTEMPTS = 4  # the first try plus three re-sends of the records that failed
BACKOFF_BASE_S = 0.1
BACKOFF_CAP_S = 1.0
# Whole-call errors worth trying again (per-record errors are always retried).
RETRYABLE_KINESIS_ERRORS = {
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "InternalFailure",
    "ServiceUnavailable",
    "ThrottlingException",
}

# The event contract keeps the source's column names; EventId identifies one source row
# (file name and row number, set by the client) so that consumers can deduplicate redeliveries.
FIELDS = ("EventId", "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country")
INVOICE_NO = re.compile(r"^[A-Z]?\d{6}$")  # 6 digits; "C" marks a cancellation, "A" an adjustment
STOCK_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,31}$")  # 85123A, POST, BANK CHARGES, gift_0001_40
CUSTOMER_ID = re.compile(r"^[A-Za-z0-9_\-]{1,32}$")
EVENT_ID_MAX = 256
DESCRIPTION_MAX = 1000
COUNTRY_MAX = 64
QUANTITY_LIMIT = 10**9
PRICE_LIMIT = 10**9
# Attribute names of the `invoice` item besides the one-attribute-per-StockCode lines: a StockCode
# with one of these names would overwrite them (see write_kinesis_to_dynamodb).
RESERVED_INVOICE_ATTRIBUTES = {"InvoiceNo", "InvoiceDate", "CustomerID", "Country", "Version"}
# The source writes month/day/year (12/1/10 8:26); ISO forms are accepted too.
DATE_FORMATS = ("%m/%d/%y %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%y %H:%M:%S", "%m/%d/%Y %H:%M:%S")
ALLOWED_METHODS = ("GET", "POST")


class ApiError(Exception):
    """An HTTP error; raised to API Gateway only by the non-proxy integration."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"[{status}] {json.dumps(body, default=_json_default)}")
        self.status = status
        self.body = body
        self.headers = headers or {}


@dataclass
class Request:
    method: str
    query: dict[str, str]
    body: Any = None  # the parsed JSON body
    body_bytes: int = 0


# ---------------------------------------------------------------------------------------------
# Validation: pure functions


def parse_invoice_date(text: str) -> datetime | None:
    """The date of an invoice line, or None when it cannot be read. Offsets are turned into UTC."""
    text = text.strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def _as_int(value: Any) -> int | None:
    """An integral JSON number (6, 6.0) as an int; None for anything else (booleans included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return None


def _identifier(value: Any) -> str | None:
    """Identifiers may arrive as JSON numbers (a CSV read by pandas): 17850 or 17850.0 -> "17850"."""
    if isinstance(value, str):
        text = value.strip()
        return text[:-2] if re.fullmatch(r"\d+\.0", text) else text
    number = _as_int(value)
    return None if number is None else str(number)


def validate_event(raw: Any) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Check one event against the contract: (normalised event, {}) or (None, {field: problem})."""
    if not isinstance(raw, dict):
        return None, {"event": "must be a JSON object"}
    errors: dict[str, str] = {}
    event: dict[str, Any] = {}
    for name in sorted(set(raw) - set(FIELDS)):
        errors[name] = f"unknown field; the event fields are {', '.join(FIELDS)}"

    event_id = raw.get("EventId")
    if not isinstance(event_id, str) or not event_id.strip():
        errors["EventId"] = "required: a stable id of the source row, e.g. 'online_retail.csv:17'"
    elif len(event_id) > EVENT_ID_MAX or not event_id.isprintable():
        errors["EventId"] = f"at most {EVENT_ID_MAX} printable characters"
    else:
        event["EventId"] = event_id.strip()

    invoice_no = _identifier(raw.get("InvoiceNo"))
    if raw.get("InvoiceNo") is None:
        errors["InvoiceNo"] = "required"
    elif invoice_no is None or not INVOICE_NO.match(invoice_no):
        errors["InvoiceNo"] = "6 digits, optionally after one capital letter (C for a cancellation), e.g. 536365"
    else:
        event["InvoiceNo"] = invoice_no

    stock_code = _identifier(raw.get("StockCode"))
    if raw.get("StockCode") is None:
        errors["StockCode"] = "required"
    elif stock_code is None or not STOCK_CODE.match(stock_code):
        errors["StockCode"] = "1 to 32 letters, digits, spaces, '_', '.' or '-', e.g. 85123A"
    elif stock_code in RESERVED_INVOICE_ATTRIBUTES:
        errors["StockCode"] = f"{stock_code!r} is the name of an invoice attribute"
    else:
        event["StockCode"] = stock_code

    description = raw.get("Description")
    if description is not None and (not isinstance(description, str) or len(description) > DESCRIPTION_MAX):
        errors["Description"] = f"a string of at most {DESCRIPTION_MAX} characters, or null"
    else:
        event["Description"] = description

    quantity = _as_int(raw.get("Quantity"))
    if raw.get("Quantity") is None:
        errors["Quantity"] = "required"
    elif quantity is None or abs(quantity) >= QUANTITY_LIMIT:
        errors["Quantity"] = "an integer (negative for a cancellation)"
    else:
        event["Quantity"] = quantity

    date_text = raw.get("InvoiceDate")
    invoice_date = parse_invoice_date(date_text) if isinstance(date_text, str) else None
    if date_text is None:
        errors["InvoiceDate"] = "required"
    elif invoice_date is None:
        errors["InvoiceDate"] = "a date and time such as '12/1/10 8:26' (month/day/year) or '2010-12-01T08:26:00'"
    else:
        event["InvoiceDate"] = invoice_date.isoformat(sep=" ", timespec="seconds")

    price = raw.get("UnitPrice")
    if price is None:
        errors["UnitPrice"] = "required"
    elif isinstance(price, bool) or not isinstance(price, (int, float, Decimal)) or not Decimal(str(price)).is_finite():
        errors["UnitPrice"] = "a number"
    elif abs(Decimal(str(price))) >= PRICE_LIMIT:
        errors["UnitPrice"] = f"below {PRICE_LIMIT:,} in absolute value"
    else:
        event["UnitPrice"] = price

    customer = raw.get("CustomerID")
    customer_id = _identifier(customer)
    if customer is None or customer_id == "":
        event["CustomerID"] = None  # about a third of the source rows have no customer
    elif customer_id is None or not CUSTOMER_ID.match(customer_id):
        errors["CustomerID"] = "letters or digits (up to 32), or null"
    else:
        event["CustomerID"] = customer_id

    country = raw.get("Country")
    if not isinstance(country, str) or not country.strip() or len(country) > COUNTRY_MAX:
        errors["Country"] = f"required: a string of 1 to {COUNTRY_MAX} characters"
    else:
        event["Country"] = country

    if errors:
        return None, errors
    return {name: event[name] for name in FIELDS}, {}


def kinesis_entry(event: dict[str, Any]) -> dict[str, Any]:
    """The PutRecords entry of a valid event: JSON data, PartitionKey = InvoiceNo."""
    data = json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=_json_default).encode()
    return {"Data": data, "PartitionKey": event["InvoiceNo"]}


def entry_size(entry: dict[str, Any]) -> int:
    """What counts against Kinesis's 1 MiB record limit: the data blob plus the partition key."""
    return len(entry["Data"]) + len(entry["PartitionKey"].encode())


def validate_batch(payload: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(entries, errors) for a POST body: one event object or a list of them."""
    events = payload if isinstance(payload, list) else [payload]
    entries: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for index, raw in enumerate(events):
        event, problems = validate_event(raw)
        if event is not None:
            entry = kinesis_entry(event)
            if entry_size(entry) > MAX_RECORD_BYTES:
                problems = {"event": f"{entry_size(entry)} bytes once encoded; a Kinesis record holds at most {MAX_RECORD_BYTES}"}
            else:
                entries.append(entry)
        if problems:
            event_id = raw.get("EventId") if isinstance(raw, dict) else None
            errors.append({"index": index, "EventId": event_id, "fields": problems})
    return entries, errors


# ---------------------------------------------------------------------------------------------
# Writing to Kinesis


@dataclass
class PutOutcome:
    accepted: int = 0
    attempts: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)  # {index, EventId, ErrorCode, ErrorMessage}


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter")."""
    return random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))


def put_entries(kinesis: Any, stream_name: str, entries: list[dict[str, Any]], sleep=time.sleep) -> PutOutcome:
    """PutRecords, then re-send only the records that failed, a bounded number of times.

    PutRecords is not atomic: "the response Records array includes both successfully and
    unsuccessfully processed records", each failed one with ErrorCode and ErrorMessage.
    """
    outcome = PutOutcome()
    pending = list(enumerate(entries))
    for attempt in range(PUT_ATTEMPTS):
        if attempt:
            sleep(backoff_seconds(attempt))
        outcome.attempts += 1
        try:
            response = kinesis.put_records(StreamName=stream_name, Records=[entry for _, entry in pending])
            results = response["Records"]
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code not in RETRYABLE_KINESIS_ERRORS:
                raise
            results = [{"ErrorCode": code, "ErrorMessage": error.response["Error"].get("Message", "")}] * len(pending)
        failed = [(item, result) for item, result in zip(pending, results) if result.get("ErrorCode")]
        outcome.accepted += len(pending) - len(failed)
        if not failed:
            return outcome
        pending = [item for item, _ in failed]
    outcome.failed = [
        {
            "index": index,
            "EventId": json.loads(entry["Data"])["EventId"],
            "ErrorCode": result["ErrorCode"],
            "ErrorMessage": result.get("ErrorMessage", ""),
        }
        for (index, entry), result in failed
    ]
    return outcome


# ---------------------------------------------------------------------------------------------
# Reading from DynamoDB: the item shapes written by write_kinesis_to_dynamodb


def _natural_key(text: str) -> list[Any]:
    """'file.csv:10' after 'file.csv:9'."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def invoice_view(item: dict[str, Any]) -> dict[str, Any]:
    """An `invoice` item as the API answers it: the header and one entry per line.

    Every map attribute is one StockCode, holding its lines keyed by EventId.
    """
    lines = [
        {"EventId": event_id, "StockCode": stock_code, **line}
        for stock_code, by_event in item.items()
        if isinstance(by_event, dict)
        for event_id, line in by_event.items()
    ]
    lines.sort(key=lambda line: _natural_key(line["EventId"]))
    return {
        "InvoiceNo": item["InvoiceNo"],
        "InvoiceDate": item.get("InvoiceDate"),
        "CustomerID": item.get("CustomerID"),
        "Country": item.get("Country"),
        "LineCount": len(lines),
        "Quantity": sum(int(line["Quantity"]) for line in lines),
        "Total": sum((Decimal(line["Quantity"]) * Decimal(line["UnitPrice"]) for line in lines), Decimal(0)),
        "Lines": lines,
    }


def customer_view(item: dict[str, Any]) -> dict[str, Any]:
    """A `customer` item as the API answers it: one summary per invoice (one attribute per InvoiceNo)."""
    invoices = [{"InvoiceNo": name, **summary} for name, summary in item.items() if isinstance(summary, dict)]
    invoices.sort(key=lambda invoice: (str(invoice.get("InvoiceDate")), invoice["InvoiceNo"]))
    return {"CustomerID": item["CustomerID"], "InvoiceCount": len(invoices), "Invoices": invoices}


# ---------------------------------------------------------------------------------------------
# HTTP


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(text: str) -> Any:
    """JSON with exact decimals; NaN and Infinity (which Python's json accepts) are refused."""
    return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)


def _allowed(method: str) -> str:
    """The method, upper case; a 405 (before the body is read) for anything but GET and POST."""
    if method.upper() not in ALLOWED_METHODS:
        raise ApiError(405, {"message": f"method {method} is not allowed"}, {"Allow": ", ".join(ALLOWED_METHODS)})
    return method.upper()


def _body_text(event: dict[str, Any]) -> str | None:
    """The proxy event's body as text; a 400 when its bytes were not UTF-8.

    API Gateway hands a body whose content type is not a binary media type to the function as
    text, with the bytes it could not decode replaced by U+FFFD; a binary one arrives base64
    encoded. Either way, text that was not UTF-8 is refused rather than stored altered.
    """
    body_text = event.get("body")
    if body_text is None:
        return None
    not_utf8 = ApiError(400, {"message": "the body is not valid UTF-8 (or holds U+FFFD, the character that replaces undecodable bytes)"})
    if event.get("isBase64Encoded"):
        try:
            body_text = base64.b64decode(body_text).decode("utf-8")
        except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
            raise not_utf8 from None
    if "\ufffd" in body_text:
        raise not_utf8
    return body_text


def parse_request(event: dict[str, Any]) -> Request:
    """The method, query and body of either integration's event (see the module docstring)."""
    if "httpMethod" in event:  # Lambda proxy integration
        request = Request(_allowed(event["httpMethod"]), dict(event.get("queryStringParameters") or {}))
        body_text = _body_text(event)
        if body_text not in (None, ""):
            request.body_bytes = len(body_text.encode())
            if request.body_bytes > MAX_BODY_BYTES:
                raise ApiError(413, {"message": f"the body has {request.body_bytes} bytes; the limit is {MAX_BODY_BYTES}"})
            try:
                request.body = parse_json(body_text)
            except ValueError as error:
                raise ApiError(400, {"message": f"the body is not valid JSON: {error}"}) from None
        return request
    context = event.get("context") or {}
    if "http-method" in context:  # non-proxy integration, "Method Request passthrough" template
        params = event.get("params") or {}
        body = event.get("body-json")
        request = Request(_allowed(context["http-method"]), dict(params.get("querystring") or {}))
        if body not in (None, {}, ""):
            request.body = body
            request.body_bytes = len(json.dumps(body, default=_json_default).encode())
            if request.body_bytes > MAX_BODY_BYTES:
                raise ApiError(413, {"message": f"the body has {request.body_bytes} bytes; the limit is {MAX_BODY_BYTES}"})
        return request
    raise ApiError(400, {"message": "not an API Gateway request (neither the proxy nor the passthrough event shape)"})


def post_events(request: Request, log_fields: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    if request.body is None:
        raise ApiError(400, {"message": "the body must be one event (a JSON object) or a JSON array of events"})
    count = len(request.body) if isinstance(request.body, list) else 1
    if isinstance(request.body, list) and not request.body:
        raise ApiError(400, {"message": "the array of events is empty"})
    if count > MAX_EVENTS_PER_REQUEST:
        raise ApiError(413, {"message": f"{count} events; send at most {MAX_EVENTS_PER_REQUEST} per request"})
    entries, errors = validate_batch(request.body)
    if errors:
        log("WARNING", "rejected events", rejected=len(errors), events=count, **log_fields)
        raise ApiError(
            400,
            {"message": f"{len(errors)} of {count} events are invalid; nothing was written", "errors": errors},
        )
    encoded = sum(entry_size(entry) for entry in entries)
    if encoded > MAX_PUT_RECORDS_BYTES:
        raise ApiError(413, {"message": f"the events take {encoded} bytes once encoded; send at most {MAX_PUT_RECORDS_BYTES} per request"})
    outcome = put_entries(kinesis_client(), STREAM_NAME, entries)
    log("INFO", "put records", accepted=outcome.accepted, failed=len(outcome.failed), attempts=outcome.attempts, **log_fields)
    body = {"accepted": outcome.accepted, "failed": len(outcome.failed), "attempts": outcome.attempts}
    if outcome.failed:
        # Some records were not accepted after every re-send: the client re-sends those (they carry
        # their EventId, so a duplicate is harmless downstream).
        raise ApiError(503, {**body, "message": "Kinesis did not accept every event; re-send failed_events", "failed_events": outcome.failed}, {"Retry-After": "1"})
    return 200, body, {}


def get_items(query: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
    keys = [name for name in ("InvoiceNo", "CustomerID") if query.get(name) not in (None, "")]
    if len(keys) != 1:
        raise ApiError(400, {"message": "give exactly one query parameter: InvoiceNo or CustomerID"})
    value = query[keys[0]].strip()
    if keys[0] == "InvoiceNo":
        if not INVOICE_NO.match(value):
            raise ApiError(400, {"message": f"InvoiceNo {value!r}: 6 digits, optionally after one capital letter"})
        item = dynamodb().Table(INVOICE_TABLE).get_item(Key={"InvoiceNo": value}).get("Item")
        if item is None:
            raise ApiError(404, {"message": f"no invoice {value}"})
        return 200, invoice_view(item), {}
    if not CUSTOMER_ID.match(value):
        raise ApiError(400, {"message": f"CustomerID {value!r}: letters or digits, up to 32"})
    item = dynamodb().Table(CUSTOMER_TABLE).get_item(Key={"CustomerID": value}).get("Item")
    if item is None:
        raise ApiError(404, {"message": f"no customer {value}"})
    return 200, customer_view(item), {}


def route(request: Request, log_fields: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    if request.method == "POST":
        return post_events(request, log_fields)
    return get_items(request.query)


def proxy_response(status: int, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **headers},
        "body": json.dumps(body, default=_json_default),
        "isBase64Encoded": False,
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    log_fields = {"request_id": getattr(context, "aws_request_id", None)}
    proxy = "httpMethod" in event
    try:
        request = parse_request(event)
        log_fields.update(method=request.method, query=request.query, body_bytes=request.body_bytes)
        status, body, headers = route(request, log_fields)
    except ApiError as error:
        log("INFO" if error.status < 500 else "ERROR", "request refused", status=error.status, reason=error.body.get("message"), **log_fields)
        if not proxy:
            raise
        return proxy_response(error.status, error.body, error.headers)
    log("INFO", "request answered", status=status, **log_fields)
    return proxy_response(status, body, headers) if proxy else json.loads(json.dumps(body, default=_json_default))


# ---------------------------------------------------------------------------------------------
# Clients and logs


@lru_cache(maxsize=1)
def kinesis_client() -> Any:
    # Standard retry mode: botocore retries throttled calls itself before put_entries sees them.
    return boto3.client("kinesis", config=Config(retries={"mode": "standard", "max_attempts": 3}))


@lru_cache(maxsize=1)
def dynamodb() -> Any:
    return boto3.resource("dynamodb")


def log(level: str, message: str, **fields: Any) -> None:
    """One JSON object per line on stdout: CloudWatch Logs keeps each as one event to query."""
    print(json.dumps({"level": level, "message": message, **fields}, default=str))
