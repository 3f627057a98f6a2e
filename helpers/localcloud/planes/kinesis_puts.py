"""Kinesis PutRecord and PutRecords, one request at a time, so that no accepted record is lost.

moto 5.2.5's ``Shard.put_record`` reads the shard's highest sequence number and stores the new
record under the next one, without a lock (its own comment: "this function is not safe for
concurrency"). The local cloud's server is threaded, so two PutRecords on one shard at once can
number two records alike: the second overwrites the first, while both callers were told their
record was stored (measured: 8 threads x 2 PutRecords of 500 on one shard kept 7,961 of 8,000).
On AWS, every record that PutRecord(s) answers with a SequenceNumber is in the shard
(https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html). This plane hands
the put requests to moto one at a time; every other Kinesis call still goes to moto directly.
"""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.wrappers import Request, Response

from helpers.localcloud.plane import Context, DataPlane, amz_target

PUT_TARGETS = {"Kinesis_20131202.PutRecord", "Kinesis_20131202.PutRecords"}


class KinesisPuts(DataPlane):
    name = "kinesis_puts"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._lock = threading.Lock()
        self._moto_app: Any = None

    def handles(self, request: Request) -> bool:
        return amz_target(request) in PUT_TARGETS

    def handle(self, request: Request) -> Response:
        with self._lock:
            if self._moto_app is None:
                from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

                self._moto_app = DomainDispatcherApplication(create_backend_app)
            return Response.from_app(self._moto_app, request.environ, buffered=True)
