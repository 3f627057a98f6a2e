"""Lambda Invoke on the local cloud: warm latency of a no-op handler, cold start, parallel throughput.

    .venv/bin/python benchmarks/lambda_invoke.py [--invokes 500] [--parallel 4]

Times are client-side, through boto3 and HTTP, as a notebook or another data plane sees them.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

from helpers import benchmarking

from harness import percentile  # benchmarks/harness.py, beside this script

NO_OP = "def handler(event, context):\n    return event\n"


def deploy(lam, role_arn: str, name: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", NO_OP)
    code = {"ZipFile": buffer.getvalue()}
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=role_arn, Handler="app.handler", Code=code)


def timed_invoke(lam, name: str) -> float:
    began = time.perf_counter()
    response = lam.invoke(FunctionName=name, Payload=b'{"ping": 1}')
    response["Payload"].read()
    assert "FunctionError" not in response, response
    return (time.perf_counter() - began) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invokes", type=int, default=500)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    with benchmarking.benchmark_cloud():
        import boto3

        lam = boto3.client("lambda")
        iam = boto3.client("iam")
        role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps({}))["Role"]["Arn"]
        deploy(lam, role, "noop")
        cold_ms = timed_invoke(lam, "noop")
        warm = [timed_invoke(lam, "noop") for _ in range(args.invokes)]

        deploy(lam, role, "noop-parallel")
        clients = [boto3.client("lambda") for _ in range(args.parallel)]
        for client in clients:  # one warm environment per client
            timed_invoke(client, "noop-parallel")
        per_client = args.invokes // args.parallel
        began = time.perf_counter()
        with ThreadPoolExecutor(args.parallel) as pool:
            list(pool.map(lambda c: [timed_invoke(c, "noop-parallel") for _ in range(per_client)], clients))
        elapsed = time.perf_counter() - began
    print(f"cold start (first invoke, new worker process): {cold_ms:.1f} ms")
    print(
        f"warm invoke over {args.invokes} sequential calls: p50 {percentile(warm, 0.50):.2f} ms, "
        f"p99 {percentile(warm, 0.99):.2f} ms, mean {statistics.fmean(warm):.2f} ms, max {max(warm):.2f} ms"
    )
    print(
        f"{args.parallel} clients in parallel: {per_client * args.parallel} invokes in {elapsed:.2f} s "
        f"= {per_client * args.parallel / elapsed:.0f} invokes/s"
    )


if __name__ == "__main__":
    main()
