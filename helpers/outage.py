"""When the local cloud stops answering mid-notebook: one clear message on how to recover.

Without this, a local cloud that was stopped or crashed shows up as a long traceback from deep
inside botocore (``EndpointConnectionError``) or requests (``ConnectionError``), or as a client
that keeps retrying. ``watch_notebook`` (called by ``targets.connect``, the first cell of every
notebook) makes IPython answer those errors with ``recovery_message`` when the local cloud is
indeed down; ``helpers.client`` raises ``LocalCloudUnreachable`` instead of retrying.

The message says what a restart means: the local cloud keeps every resource in memory (moto's
backends; the warehouse's files are discarded when notebook 06 creates its namespace again), so
a restarted one is an empty account, and the notebooks from 02 on must run again, in order.
"""

from __future__ import annotations

from typing import Any

import requests
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

from helpers import config
from helpers.localcloud import lifecycle

# What a client sees when nothing listens on the endpoint any more.
CONNECTION_ERRORS = (EndpointConnectionError, ConnectionClosedError, requests.ConnectionError)


def recovery_message(s: config.Settings | None = None) -> str:
    s = s or config.settings()
    return (
        f"The local cloud at {s.local_endpoint} is not answering: it was stopped or crashed "
        f"(its log: {lifecycle.log_path(s)}).\n"
        "Start it again with `make up` (or `python -m helpers.localcloud up`; the first cell of every "
        "notebook also starts it), then re-run the notebooks from 02 up to this one, in order, each from "
        "the top. A restarted local cloud is an empty account: it keeps every resource in memory, so the "
        "roles, stream, tables, API and warehouse of earlier notebooks are gone. Every notebook is "
        "idempotent: running one again is safe."
    )


class LocalCloudUnreachable(ConnectionError):
    """The local cloud stopped answering; the message says how to recover."""

    def __init__(self, s: config.Settings | None = None) -> None:
        super().__init__(recovery_message(s))

    def _render_traceback_(self) -> list[str]:
        """IPython shows this instead of a traceback: the message is the whole story."""
        return [f"{type(self).__name__}: {self}"]


def local_cloud_down(s: config.Settings | None = None) -> bool:
    """True when the target is the local cloud and it does not answer its health check."""
    s = s or config.settings()
    return s.is_local and not lifecycle.status(s).running


def _on_connection_error(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> None:
    """IPython's handler for CONNECTION_ERRORS: the recovery message if the local cloud is down,
    else the usual traceback (a real network error on AWS, say)."""
    if not isinstance(value, LocalCloudUnreachable) and local_cloud_down():
        unreachable = LocalCloudUnreachable()
        unreachable.__cause__ = value
        etype, value = LocalCloudUnreachable, unreachable
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def watch_notebook() -> None:
    """In IPython (a notebook, papermill), answer a lost local cloud with ``recovery_message``."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc(CONNECTION_ERRORS, _on_connection_error)
