"""Garbage collection for the local cloud's long-running processes, which hold its whole state.

Every stream record, S3 object and DynamoDB item the local cloud stores is a tree of Python
objects, and CPython's cyclic garbage collector runs every 700 allocations by default (thresholds
700, 10, 10). Storing items allocates without pause, so the collector ran all the time: measured
on BatchWriteItem of 25 invoices, half of the DynamoDB process's CPU (37 ms of server CPU per
request; 18 ms with the thresholds below). Most garbage here is freed by reference counting; the
collector is for cycles, which are rare and short-lived in request handling.
"""

from __future__ import annotations

import gc

# (youngest generation, middle, oldest): collect after 50,000 net allocations instead of 700, and
# sweep the whole heap (millions of stored objects at full scale) about a hundredth as often.
THRESHOLDS = (50_000, 20, 100)


def collect_less_often() -> None:
    gc.set_threshold(*THRESHOLDS)
