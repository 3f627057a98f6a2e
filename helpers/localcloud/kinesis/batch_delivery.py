"""Deliver one batch of a shard to the function, with Lambda's error handling for stream sources.

Follows https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html and
https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html:

- before invocation (throttled, function missing, service error): retry until the records are older
  than MaximumRecordAgeInSeconds; these retries do not count against MaximumRetryAttempts;
- during invocation (a function error, or an invalid partial-batch response): retry until the
  records are too old or MaximumRetryAttempts retries are spent; with BisectBatchOnFunctionError,
  split the failed batch in two first ("splitting a batch does not count towards the retry quota");
- ReportBatchItemFailures: checkpoint before the lowest failed sequence number and retry from it
  (with bisect on, only the remaining records);
- a discarded batch is described to the OnFailure destination, and the shard moves on.

Batches are resolved strictly in sequence-number order, so a shard's records reach the function in
order. Waiting between retries is exponential (0.1 s doubling to 5 s): AWS does not document its
delays, and short ones keep the local cloud responsive.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from helpers.localcloud.kinesis.batches import (
    DiscardCondition,
    EventRecord,
    InvokeResult,
    Verdict,
    event_payload,
    failure_record,
    judge,
)
from helpers.localcloud.kinesis.mapping_config import PollingSettings

log = logging.getLogger("localcloud.kinesis_mappings")

FIRST_RETRY_DELAY_SECONDS = 0.1
MAX_RETRY_DELAY_SECONDS = 5.0

OK = "OK"
FUNCTION_CALL_FAILED = "PROBLEM: Function call failed"


class InvokeUnavailable(Exception):
    """The function could not be invoked (throttled, missing, service error): nothing ran."""


@dataclass
class _Pending:
    """Records still to deliver as one batch, with how often this batch failed and was invoked."""

    records: list[EventRecord]
    retries: int = 0
    invocations: int = 0
    last_result: InvokeResult | None = None


@dataclass
class Collaborators:
    """What delivery needs from the outside world, injected so the policy can be tested alone."""

    invoke: Callable[[bytes], InvokeResult]  # raises InvokeUnavailable
    send_failure_record: Callable[[dict], None]  # raises on failure to send
    checkpoint: Callable[[int], None]  # next sequence number to read
    report: Callable[[str], None]  # LastProcessingResult
    clock: Callable[[], float]
    wait: Callable[[float], bool]  # sleep; True when asked to stop meanwhile


class BatchDelivery:
    def __init__(self, settings: PollingSettings, outside: Collaborators) -> None:
        self.settings = settings
        self.outside = outside
        self._failures_in_a_row = 0

    def deliver(self, records: list[EventRecord]) -> bool:
        """Resolve every record (processed or discarded); False if asked to stop before that."""
        pending: deque[_Pending] = deque([_Pending(records)])
        while pending:
            current = pending[0]
            if not self._discard_too_old(current):
                return False
            if not current.records:
                pending.popleft()
                continue
            try:
                result = self.outside.invoke(event_payload(current.records))
            except InvokeUnavailable as error:
                log.warning("mapping %s: could not invoke %s: %s", self.settings.uuid, self.settings.function_arn, error)
                self.outside.report(FUNCTION_CALL_FAILED)
                if self._back_off():
                    return False
                continue
            current.invocations += 1
            current.last_result = result
            outcome = judge(result, current.records, report_batch_item_failures=self.settings.report_batch_item_failures)
            if outcome.verdict is Verdict.SUCCESS:
                self._failures_in_a_row = 0
                self.outside.report(OK)
                self.outside.checkpoint(current.records[-1].sequence_number + 1)
                pending.popleft()
                continue
            self.outside.report(FUNCTION_CALL_FAILED)
            log.info(
                "mapping %s: batch %s..%s of %s failed: %s",
                self.settings.uuid,
                current.records[0].sequence_number,
                current.records[-1].sequence_number,
                current.records[0].record.shard_id,
                outcome.reason,
            )
            if outcome.verdict is Verdict.PARTIAL_FAILURE:
                assert outcome.retry_from is not None
                done = [r for r in current.records if r.sequence_number < outcome.retry_from]
                if done:
                    self.outside.checkpoint(done[-1].sequence_number + 1)
                current.records = [r for r in current.records if r.sequence_number >= outcome.retry_from]
            elif self.settings.bisect_on_error and len(current.records) > 1:
                middle = len(current.records) // 2
                pending.popleft()
                for half in (current.records[middle:], current.records[:middle]):
                    pending.appendleft(_Pending(half, retries=current.retries))
                continue  # splitting is not a retry: the halves go out at once
            current.retries += 1
            limit = self.settings.maximum_retry_attempts
            if limit != -1 and current.retries > limit:
                if not self._discard(current, current.records, DiscardCondition.RETRY_ATTEMPTS_EXHAUSTED):
                    return False
                pending.popleft()
                continue
            if self._back_off():
                return False
        return True

    def _discard_too_old(self, current: _Pending) -> bool:
        """Discard records past MaximumRecordAgeInSeconds; False if asked to stop meanwhile.

        Records that are already too old when first read are skipped; a batch that failed and is
        being retried is given up whole once its oldest record is too old (one failure record).
        """
        maximum_age = self.settings.maximum_record_age_seconds
        if maximum_age == -1:
            return True
        oldest_allowed = self.outside.clock() - maximum_age
        too_old = [r for r in current.records if r.record.arrival_timestamp < oldest_allowed]
        if too_old and current.invocations:
            too_old = current.records
        if too_old and not self._discard(current, too_old, DiscardCondition.RECORD_AGE_EXCEEDED):
            return False
        current.records = current.records[len(too_old):]
        return True

    def _discard(self, current: _Pending, records: list[EventRecord], condition: DiscardCondition) -> bool:
        """Leave records behind, described at the destination; False if asked to stop first."""
        settings = self.settings
        log.warning(
            "mapping %s: discarding records %s..%s of %s (%s)",
            settings.uuid,
            records[0].sequence_number,
            records[-1].sequence_number,
            records[0].record.shard_id,
            condition.value,
        )
        if settings.on_failure_destination:
            document = failure_record(
                records,
                condition=condition,
                function_arn=settings.function_arn,
                stream_arn=settings.stream_arn,
                invoke_count=current.invocations,
                last_result=current.last_result,
                request_id=str(uuid.uuid4()),
                now=self.outside.clock(),
            )
            if not self._send_until_done(document):
                return False
        self.outside.checkpoint(records[-1].sequence_number + 1)
        return True

    def _send_until_done(self, document: dict) -> bool:
        """Records are only left behind once their failure record is at the destination."""
        delay = FIRST_RETRY_DELAY_SECONDS
        while True:
            try:
                self.outside.send_failure_record(document)
                return True
            except Exception as error:  # noqa: BLE001 - any failure to send is retried
                log.error(
                    "mapping %s: cannot send the failure record to %s (%s); retrying in %.1f s",
                    self.settings.uuid,
                    self.settings.on_failure_destination,
                    error,
                    delay,
                )
                self.outside.report("PROBLEM: Could not send the failure record to the on-failure destination")
                if self.outside.wait(delay):
                    return False
                delay = min(delay * 2, MAX_RETRY_DELAY_SECONDS)

    def _back_off(self) -> bool:
        """Wait before the next attempt; True when asked to stop meanwhile."""
        self._failures_in_a_row += 1
        delay = min(FIRST_RETRY_DELAY_SECONDS * 2 ** (self._failures_in_a_row - 1), MAX_RETRY_DELAY_SECONDS)
        return self.outside.wait(delay)
