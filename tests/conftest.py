"""Shared fixtures: a real local cloud over HTTP, started fresh for the test session."""

from __future__ import annotations

import dataclasses
import os
from contextlib import contextmanager

import pytest

from helpers import aws, config
from helpers.localcloud import lifecycle


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory):
    """A local cloud of the tests' own (own port, own state dir), with boto3 pointed at it.

    It never touches the learner's running local cloud, and it is stopped after the tests.
    """
    s = dataclasses.replace(
        config.load(), target="local", local_port=lifecycle.free_port(), state_dir=tmp_path_factory.mktemp("localcloud")
    )
    lifecycle.up(s)
    saved = {k: os.environ.get(k) for k in config.client_environment(s)}
    os.environ.update(config.client_environment(s))
    yield s
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    lifecycle.down(s)


@contextmanager
def own_names(local_cloud: config.Settings, **changes: object):
    """The workbook's names with ``changes``, seen by every helper (``config.settings``) meanwhile.

    Lets a test module build the pipeline's resources under names of its own, beside other modules'
    in the same local cloud. Yields the names and the MonkeyPatch, for further patches of the module.
    """
    names = dataclasses.replace(local_cloud.names, **changes)
    settings = dataclasses.replace(local_cloud, names=names)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(config, "settings", lambda: settings)
        aws.session.cache_clear()
        aws.account_id.cache_clear()
        try:
            yield names, patch
        finally:
            aws.session.cache_clear()
            aws.account_id.cache_clear()
