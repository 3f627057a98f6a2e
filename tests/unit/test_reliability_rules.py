"""Pure rules of the reliability suite: bodies that are not UTF-8, and a lost local cloud (client, notebook handler)."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest
import requests

from helpers import client, config, outage
from helpers.localcloud import lifecycle
from lambda_code import kinesis_api

EVENT = {
    "EventId": "f.csv:1", "InvoiceNo": "536365", "StockCode": "85123A", "Description": "CAF\u00c9",
    "Quantity": 6, "InvoiceDate": "2010-12-01 08:26:00", "UnitPrice": 2.55, "CustomerID": "17850", "Country": "France",
}  # fmt: skip


def proxy_event(body: str, binary: bool = False) -> dict:
    return {"httpMethod": "POST", "queryStringParameters": None, "body": body, "isBase64Encoded": binary}


def test_a_body_that_was_not_utf8_is_refused_not_stored_altered():
    # As text, API Gateway put U+FFFD in place of the bytes it could not decode.
    replaced = json.dumps([{**EVENT, "Description": "CAF\ufffd"}], ensure_ascii=False)
    latin_1 = base64.b64encode(json.dumps([EVENT], ensure_ascii=False).encode("latin-1")).decode()
    for event in (proxy_event(replaced), proxy_event(latin_1, binary=True)):
        answer = kinesis_api.handler(event, None)
        assert answer["statusCode"] == 400
        assert json.loads(answer["body"])["message"].startswith("the body is not valid UTF-8")


def test_a_utf8_body_still_parses_as_text_or_base64():
    text = json.dumps([EVENT], ensure_ascii=False)
    for event in (proxy_event(text), proxy_event(base64.b64encode(text.encode()).decode(), binary=True)):
        assert kinesis_api.parse_request(event).body[0]["Description"] == "CAF\u00c9"


@pytest.fixture
def nothing_listening(tmp_path) -> config.Settings:
    return dataclasses.replace(config.load(), target="local", local_port=lifecycle.free_port(), state_dir=tmp_path)


def test_the_client_stops_at_once_when_the_local_cloud_is_down(nothing_listening):
    s = nothing_listening
    slept: list[float] = []
    sender = client.Sender(f"{s.local_endpoint}/restapis/x/prod/_user_request_/invoices", None, retries=6, timeout_s=5,
                           sleep=slept.append, local_cloud=s)  # fmt: skip
    with pytest.raises(outage.LocalCloudUnreachable) as raised:
        sender.send([EVENT])
    assert str(raised.value) == outage.recovery_message(s) and slept == []  # no retry


def test_the_client_still_retries_an_endpoint_that_is_not_known_to_be_down(nothing_listening):
    s = nothing_listening
    slept: list[float] = []
    sender = client.Sender(f"{s.local_endpoint}/x", None, retries=2, timeout_s=5, sleep=slept.append)
    outcome = sender.send([EVENT])
    assert len(slept) == 2 and outcome.failed[0][0] == "f.csv:1" and "ConnectionError" in outcome.failed[0][1]


def test_the_recovery_message_names_the_endpoint_the_log_and_what_to_run_again(nothing_listening):
    s = nothing_listening
    message = outage.recovery_message(s)
    assert s.local_endpoint in message and str(s.state_dir / "localcloud.log") in message
    assert "`make up`" in message and "from 02 up to this one" in message and "empty account" in message
    assert outage.LocalCloudUnreachable(s)._render_traceback_() == [f"LocalCloudUnreachable: {message}"]
    assert outage.local_cloud_down(s) and not outage.local_cloud_down(dataclasses.replace(s, target="aws"))


class RecordingShell:
    """What IPython's custom exception handler is given: a shell with showtraceback."""

    def __init__(self) -> None:
        self.shown: list[tuple] = []

    def showtraceback(self, exc_tuple: tuple, tb_offset: int | None = None) -> None:
        self.shown.append(exc_tuple)


@pytest.mark.parametrize("target, replaced", [("local", True), ("aws", False)])
def test_the_notebook_handler_replaces_a_connection_error_only_when_the_local_cloud_is_down(nothing_listening, monkeypatch, target, replaced):
    monkeypatch.setattr(config, "settings", lambda: dataclasses.replace(nothing_listening, target=target))
    error = requests.ConnectionError("Connection refused")
    shell = RecordingShell()
    outage._on_connection_error(shell, type(error), error, None)
    [(etype, value, _)] = shell.shown
    if replaced:
        assert etype is outage.LocalCloudUnreachable and value.__cause__ is error
        assert str(value) == outage.recovery_message(dataclasses.replace(nothing_listening, target=target))
    else:
        assert value is error  # on AWS, a network error keeps its own traceback
