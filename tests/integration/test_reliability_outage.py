"""A local cloud killed mid-stream: the notebook says what happened and how to recover.

A real notebook kernel (nbclient, as papermill and nbval run the notebooks) connects to a local
cloud of its own (its own port and state dir), builds the stream pipeline, and streams the sample
through the API with the workbook's client. Once 100 records are on the stream, the local cloud's server gets SIGKILL
(as a crash or an OOM kill would). The streaming cell, and a later boto3 call, must each end with
``helpers.outage.recovery_message`` instead of a traceback or endless retries; running the
first cell again (what the message says to do) starts an empty local cloud, as the message says.
"""

from __future__ import annotations

import dataclasses
import json
import re

import nbformat
import pytest
from nbclient import NotebookClient

from helpers import config, outage
from helpers.localcloud import lifecycle

pytestmark = pytest.mark.integration


def notebook(s: config.Settings) -> nbformat.NotebookNode:
    connect = f"""
import os
os.environ.update(WORKBOOK_TARGET="local", WORKBOOK_LOCAL_PORT="{s.local_port}", WORKBOOK_STATE_DIR="{s.state_dir}")
from helpers import aws, config, targets
settings = config.settings()
print(targets.connect().detail)
"""
    cells = [
        connect,
        "from helpers.benchmarking import build\npipeline = build(settings)",
        """
import signal, threading, time
from helpers import client, storage
from helpers.localcloud import lifecycle
server = lifecycle.status().pid

def kill_once_records_arrive():
    while sum(1 for _ in storage.iter_records(settings.names.stream)) < 100:
        time.sleep(0.2)
    os.kill(server, signal.SIGKILL)

threading.Thread(target=kill_once_records_arrive, daemon=True).start()
summary = client.stream_rows(rate=500, batch_size=50)  # 5,000 rows in 10 s; the progress bar on stderr
""",
        "aws.client('kinesis').describe_stream_summary(StreamName=settings.names.stream)",
        connect + "import json\nprint(json.dumps(aws.client('kinesis').list_streams()['StreamNames']))",
    ]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source.strip()) for source in cells])


@pytest.fixture
def own_local_cloud(tmp_path):
    s = dataclasses.replace(config.load(), target="local", local_port=lifecycle.free_port(), state_dir=tmp_path / "localcloud")
    yield s
    lifecycle.down(s)


def errors(cell: nbformat.NotebookNode) -> list[dict]:
    return [output for output in cell.outputs if output.output_type == "error"]


def test_a_local_cloud_killed_mid_stream_is_reported_with_how_to_recover(own_local_cloud):
    s = own_local_cloud
    nb = notebook(s)
    NotebookClient(nb, timeout=180, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(config.REPO_ROOT)}}).execute()  # fmt: skip
    connected, built, streamed, boto3_call, reconnected = nb.cells

    assert not errors(connected) and not errors(built), [e.evalue for e in errors(connected) + errors(built)]
    expected = outage.recovery_message(s)
    progress = re.findall(r"(\d+)/5000", "".join(o.get("text", "") for o in streamed.outputs if o.get("name") == "stderr"))
    assert progress and 0 < int(progress[-1]) < 5000, progress  # the kill came mid-stream
    for cell in (streamed, boto3_call):
        [error] = errors(cell)
        assert (error.ename, error.evalue) == ("LocalCloudUnreachable", expected)
        assert error.traceback == [f"LocalCloudUnreachable: {expected}"]  # the message, no traceback
    assert "make up" in expected and f"127.0.0.1:{s.local_port}" in expected

    # What the message promises: the first cell starts the local cloud again, and it starts empty.
    assert not errors(reconnected)
    output = "".join(o.get("text", "") for o in reconnected.outputs)
    assert "local cloud: healthy" in output and "started in" in output
    assert output.strip().splitlines()[-1] == json.dumps([])
