"""EventBridge PutEvents that reaches its rules' targets, Lambda functions included.

moto 5.2.5 cannot deliver an event to a Lambda target, lets scheduled rules and DISABLED rules
match every event, and so answers HTTP 500 to any PutEvents once the default bus holds a scheduled
rule with a Lambda target (the workbook's nightly bulk import). This plane answers PutEvents itself
(``events.put_events``): pattern rules that are ENABLED and match get the event; Lambda targets are
invoked asynchronously, after the function's policy check, with their Input, InputPath or
InputTransformer applied (``events.delivery``).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from werkzeug.wrappers import Request, Response

from helpers.localcloud.events import delivery
from helpers.localcloud.events.put_events import TooManyEntries, put_events
from helpers.localcloud.plane import Context, DataPlane, amz_target, json_error, signing_scope

CONTENT_TYPE = "application/x-amz-json-1.1"
DELIVERY_THREADS = 4


class EventBus(DataPlane):
    name = "event-bus"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._deliveries = ThreadPoolExecutor(max_workers=DELIVERY_THREADS, thread_name_prefix="events-put")

    def handles(self, request: Request) -> bool:
        return request.method == "POST" and amz_target(request) == "AWSEvents.PutEvents"

    def handle(self, request: Request) -> Response:
        body = json.loads(request.get_data() or b"{}")
        region = signing_scope(request)[0] or "us-east-1"
        try:
            entries, lambdas = put_events(self.ctx.backend("events", region), body.get("Entries") or [])
        except TooManyEntries as error:
            return json_error(400, "ValidationException", str(error))
        for item in lambdas:
            self._deliveries.submit(
                delivery.deliver,
                self.ctx.endpoint_url,
                lambda account, rgn: self.ctx.backend("lambda", rgn, account),
                item.rule_arn,
                item.rule_name,
                item.target,
                item.event,
            )
        failed = sum(1 for entry in entries if "ErrorCode" in entry)
        return Response(json.dumps({"FailedEntryCount": failed, "Entries": entries}), content_type=CONTENT_TYPE)

    def stop(self) -> None:
        self._deliveries.shutdown(wait=False, cancel_futures=True)
