"""The streaming client: row selection, event ids, retries against a tiny HTTP server, dry run."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import client, data

CSV = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/10 8:26,2.55,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/10 8:26,3.39,17850,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,12/1/10 8:28,1.85,,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/2/10 8:34,1.69,13047,United Kingdom
536368,22960,JAM MAKING SET WITH JARS,6,12/3/10 8:34,4.25,13047,United Kingdom
"""


@pytest.fixture
def csv_path(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text(CSV)
    return path


@pytest.fixture
def frame(csv_path):
    return data.load_invoices(csv_path)


class Script:
    """The answers the server gives, in order; the last one repeats. Records every body it got."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.bodies = []
        self.headers = []
        self.lock = threading.Lock()

    def next(self, body, headers):
        with self.lock:
            self.bodies.append(body)
            self.headers.append(headers)
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(body) if callable(answer) else answer


@pytest.fixture
def server():
    """A local HTTP server that plays a Script; yields (url, set_script)."""
    state = {"script": Script((200, {}))}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, payload = state["script"].next(body, dict(self.headers))
            if status == 200 and not payload:
                payload = {"accepted": len(body), "failed": 0}
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def play(script):
        state["script"] = script
        return script

    yield f"http://127.0.0.1:{httpd.server_address[1]}/prod/invoices", play
    httpd.shutdown()
    httpd.server_close()


def no_sleep(seconds):
    pass


# --- selection -----------------------------------------------------------------------------------


def test_rows_are_chosen_by_limit_offset_and_dates(frame):
    assert list(client.select_rows(frame, limit=2).index) == [0, 1]
    assert list(client.select_rows(frame, offset=3).index) == [3, 4]
    assert list(client.select_rows(frame, date="2010-12-01").index) == [0, 1, 2]
    assert list(client.select_rows(frame, since="2010-12-02", until="2010-12-02").index) == [3]  # the whole day
    assert list(client.select_rows(frame, until="2010-12-01 08:27").index) == [0, 1]
    assert list(client.select_rows(frame, since="2010-12-01 08:27", offset=1, limit=2).index) == [3, 4]
    with pytest.raises(ValueError):
        client.select_rows(frame, date="2010-12-01", since="2010-12-01")


def test_events_carry_the_source_row_as_event_id(frame):
    events = client.to_events(client.select_rows(frame, offset=2, limit=1), "shop.csv")
    assert events == [
        {
            "EventId": "shop.csv:3",  # the third row of the file, whatever the selection
            "InvoiceNo": "536366",
            "StockCode": "22633",
            "Description": "HAND WARMER UNION JACK",
            "Quantity": 6,
            "InvoiceDate": "2010-12-01 08:28:00",
            "UnitPrice": 1.85,
            "CustomerID": None,
            "Country": "United Kingdom",
        }
    ]


def test_batches_respect_the_api_limit():
    assert [len(b) for b in client.batches([{}] * 7, 3)] == [3, 3, 1]
    with pytest.raises(ValueError):
        list(client.batches([{}], 501))


# --- sending -------------------------------------------------------------------------------------


def events(n):
    return [{"EventId": f"shop.csv:{i}", "InvoiceNo": "536365"} for i in range(1, n + 1)]


def test_429_and_500_are_retried_until_accepted(server):
    url, play = server
    script = play(Script((429, {"message": "Too Many Requests"}), (500, {"message": "boom"}), (200, {})))
    outcome = client.Sender(url, "key-1", retries=5, timeout_s=5, sleep=no_sleep).send(events(3))
    assert (outcome.accepted, outcome.retries, outcome.requests) == (3, 2, 3)
    assert script.headers[0]["x-api-key"] == "key-1"


def test_retries_are_bounded(server):
    url, play = server
    play(Script((503, {"message": "unavailable"})))
    outcome = client.Sender(url, None, retries=2, timeout_s=5, sleep=no_sleep).send(events(2))
    assert outcome.accepted == 0 and outcome.requests == 3
    assert outcome.failed == [("shop.csv:1", "HTTP 503: unavailable"), ("shop.csv:2", "HTTP 503: unavailable")]


def test_connection_errors_are_retried():
    sender = client.Sender("http://127.0.0.1:9/closed", None, retries=1, timeout_s=1, sleep=no_sleep)
    outcome = sender.send(events(1))
    assert outcome.requests == 2 and outcome.failed[0][1].startswith("ConnectionError")


def test_invalid_events_are_rejected_with_reasons_and_the_rest_resent(server):
    url, play = server
    refusal = {"message": "1 of 3 events are invalid", "errors": [{"index": 1, "EventId": "shop.csv:2", "fields": {"Quantity": "an integer"}}]}
    script = play(Script((400, refusal), (200, {})))
    outcome = client.Sender(url, None, retries=0, timeout_s=5, sleep=no_sleep).send(events(3))
    assert outcome.accepted == 2 and outcome.rejected == [("shop.csv:2", "Quantity: an integer")]
    assert [e["EventId"] for e in script.bodies[1]] == ["shop.csv:1", "shop.csv:3"]


def test_only_the_events_kinesis_refused_are_resent(server):
    url, play = server
    partial = {"accepted": 2, "failed": 1, "failed_events": [{"index": 2, "EventId": "shop.csv:3", "ErrorCode": "ProvisionedThroughputExceededException"}]}
    script = play(Script((503, partial), (200, {})))
    outcome = client.Sender(url, None, retries=3, timeout_s=5, sleep=no_sleep).send(events(3))
    assert outcome.accepted == 3 and outcome.retries == 1
    assert [e["EventId"] for e in script.bodies[1]] == ["shop.csv:3"]


def test_a_refused_key_stops_the_run(server):
    url, play = server
    play(Script((403, {"message": "Forbidden"})))
    with pytest.raises(client.ClientError, match="403"):
        client.Sender(url, "wrong", retries=3, timeout_s=5, sleep=no_sleep).send(events(1))


def test_backoff_has_full_jitter_and_honours_retry_after():
    assert all(0 <= client.backoff_seconds(3) <= client.BACKOFF_BASE_S * 8 for _ in range(50))
    assert client.backoff_seconds(0, retry_after="2") >= 2


# --- the run -------------------------------------------------------------------------------------


def test_stream_rows_sends_every_selected_row_in_batches(server, csv_path):
    url, play = server
    script = play(Script((200, {})))
    summary = client.stream_rows(csv_path, api_url=url, api_key="k", batch_size=2, concurrency=2, progress=False)
    assert (summary.selected, summary.sent, summary.accepted, summary.requests) == (5, 5, 5, 3)
    sent = sorted(e["EventId"] for body in script.bodies for e in body)
    assert sent == [f"shop.csv:{i}" for i in range(1, 6)]
    assert "accepted 5" in str(summary)


def test_a_dry_run_prints_and_sends_nothing(server, csv_path):
    url, play = server
    script = play(Script((200, {})))
    out = io.StringIO()
    summary = client.stream_rows(csv_path, api_url=url, limit=4, dry_run=True, out=out)
    assert script.bodies == [] and summary.accepted == 0 and summary.dry_run
    printed = out.getvalue()
    assert "would send 4 events from shop.csv in 1 POSTs" in printed and '"EventId": "shop.csv:1"' in printed


def test_the_url_and_key_come_from_the_environment(monkeypatch):
    monkeypatch.setenv(client.URL_SETTING, "https://abc.execute-api.eu-west-1.amazonaws.com/prod/invoices")
    monkeypatch.setenv(client.KEY_SETTING, "secret")
    assert client.resolve_endpoint(None, None) == ("https://abc.execute-api.eu-west-1.amazonaws.com/prod/invoices", "secret")
    assert client.resolve_endpoint("http://x/invoices", "k") == ("http://x/invoices", "k")


def test_the_command_line_reports_bad_arguments(capsys, csv_path):
    assert client.main([str(csv_path), "--batch-size", "900", "--api-url", "http://x"]) == 2
    assert "batch size 900" in capsys.readouterr().err


def test_summary_rows_per_second():
    summary = client.Summary(selected=10, sent=10, accepted=10, seconds=2.0)
    assert summary.rows_per_second == 5.0
    assert client.Summary().rows_per_second == 0.0
