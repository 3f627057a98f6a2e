"""The local cloud's lifecycle: up, reuse, status, a taken port, down."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys

import boto3
import pytest

from helpers import config
from helpers.localcloud import lifecycle

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(tmp_path):
    s = dataclasses.replace(config.load(), target="local", local_port=lifecycle.free_port(), state_dir=tmp_path)
    yield s
    lifecycle.down(s)


def test_up_twice_gives_one_server_and_down_stops_it(settings):
    first = lifecycle.up(settings)
    assert first.running and first.started_now
    second = lifecycle.up(settings)
    assert second.running and not second.started_now
    assert second.pid == first.pid
    assert lifecycle.status(settings).pid == first.pid
    assert lifecycle.down(settings) is True
    assert not lifecycle.status(settings).running
    assert lifecycle.down(settings) is False  # nothing left that `up` started


def test_logs_go_to_the_state_dir(settings):
    lifecycle.up(settings)
    lifecycle.down(settings)
    assert "local cloud listening on" in lifecycle.log_path(settings).read_text()


def test_a_port_held_by_another_program_is_a_clear_error(settings):
    with socket.socket() as squatter:
        squatter.bind((settings.local_host, settings.local_port))
        squatter.listen()
        with pytest.raises(lifecycle.LocalCloudError) as error:
            lifecycle.up(settings)
    message = str(error.value)
    assert str(settings.local_port) in message and "WORKBOOK_LOCAL_PORT" in message


def test_cli_reports_status_with_exit_codes(settings, tmp_path):
    env = {"WORKBOOK_LOCAL_PORT": str(settings.local_port), "WORKBOOK_STATE_DIR": str(tmp_path), "PATH": ""}
    run = lambda cmd: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "helpers.localcloud", cmd], env=env, capture_output=True, text=True,
        cwd=config.REPO_ROOT,
    )
    assert run("status").returncode == 3
    up = run("up")
    assert up.returncode == 0 and f"http://127.0.0.1:{settings.local_port}" in up.stdout
    assert run("status").returncode == 0
    assert "stopped" in run("down").stdout


def test_boto3_reaches_moto_through_aws_endpoint_url(local_cloud):
    # No endpoint_url argument: the standard AWS_ENDPOINT_URL setting routes the client.
    kinesis = boto3.client("kinesis")
    kinesis.create_stream(StreamName="lifecycle-probe", ShardCount=1)
    summary = kinesis.describe_stream_summary(StreamName="lifecycle-probe")["StreamDescriptionSummary"]
    assert summary["StreamName"] == "lifecycle-probe"
    assert kinesis.meta.endpoint_url == local_cloud.local_endpoint
