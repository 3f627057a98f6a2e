"""API Gateway invoke on the local cloud: request latency through a Lambda integration.

    .venv/bin/python benchmarks/apigateway_invoke.py [--requests 500] [--parallel 4]

1. Warm latency (p50, p99) of ``GET /ping`` through a Lambda proxy integration to a no-op
   function, with ``requests``, as a notebook calls the API.
2. The same function invoked directly with boto3 (Lambda Invoke), so that API Gateway's own share
   shows; and the same API method as a non-proxy integration with the console's "Method Request
   passthrough" template (template rendering included).
3. Throughput with several clients in parallel.

Times are client-side and include HTTP to the local endpoint.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

from helpers import benchmarking
from helpers.apigateway import METHOD_REQUEST_PASSTHROUGH, invoke_url

from harness import percentile  # benchmarks/harness.py, beside this script

NO_OP = 'def handler(event, context):\n    return {"statusCode": 200, "body": "ok"}\n'


def summary(label: str, millis: list[float]) -> str:
    return (f"{label:<46} p50 {percentile(millis, 0.5):6.1f} ms   p99 {percentile(millis, 0.99):6.1f} ms   "
            f"mean {statistics.fmean(millis):6.1f} ms   (n={len(millis)})")


def build_api(apigw, lam, function_arn: str, region: str) -> str:
    """GET /ping (proxy) and GET /custom (non-proxy, passthrough template), deployed to prod."""
    api_id = apigw.create_rest_api(name="bench")["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    uri = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    ping = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="ping")["id"]
    apigw.put_method(restApiId=api_id, resourceId=ping, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api_id, resourceId=ping, httpMethod="GET", type="AWS_PROXY",
                          integrationHttpMethod="POST", uri=uri)
    custom = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="custom")["id"]
    apigw.put_method(restApiId=api_id, resourceId=custom, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api_id, resourceId=custom, httpMethod="GET", type="AWS",
                          integrationHttpMethod="POST", uri=uri,
                          requestTemplates={"application/json": METHOD_REQUEST_PASSTHROUGH})
    apigw.put_method_response(restApiId=api_id, resourceId=custom, httpMethod="GET", statusCode="200")
    apigw.put_integration_response(restApiId=api_id, resourceId=custom, httpMethod="GET", statusCode="200",
                                   responseTemplates={"application/json": ""})
    lam.add_permission(FunctionName=function_arn, StatementId="apigateway", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com",
                       SourceArn=f"arn:aws:execute-api:{region}:123456789012:{api_id}/*/*/*")
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    return api_id


def timed_get(session, url: str) -> float:
    began = time.perf_counter()
    response = session.get(url, params={"InvoiceNo": "536365"})
    assert response.status_code == 200, (response.status_code, response.text)
    return (time.perf_counter() - began) * 1000


def timed_invoke(lam, name: str) -> float:
    began = time.perf_counter()
    response = lam.invoke(FunctionName=name, Payload=b"{}")
    response["Payload"].read()
    return (time.perf_counter() - began) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    with benchmarking.benchmark_cloud() as s:
        import boto3
        import requests

        lam, apigw = boto3.client("lambda"), boto3.client("apigateway")
        role = boto3.client("iam").create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("app.py", NO_OP)
        arn = lam.create_function(FunctionName="noop", Runtime="python3.12", Role=role, Handler="app.handler",
                                  Code={"ZipFile": archive.getvalue()})["FunctionArn"]
        api_id = build_api(apigw, lam, arn, s.region)
        ping, custom = invoke_url(api_id, "prod", "ping"), invoke_url(api_id, "prod", "custom")
        session = requests.Session()
        cold = timed_get(session, ping)
        proxy = [timed_get(session, ping) for _ in range(args.requests)]
        direct = [timed_invoke(lam, "noop") for _ in range(args.requests)]
        non_proxy = [timed_get(session, custom) for _ in range(args.requests)]

        sessions = [requests.Session() for _ in range(args.parallel)]
        per_client = args.requests // args.parallel
        began = time.perf_counter()
        with ThreadPoolExecutor(args.parallel) as pool:
            list(pool.map(lambda sess: [timed_get(sess, ping) for _ in range(per_client)], sessions))
        elapsed = time.perf_counter() - began
    print(f"first request (function cold start included): {cold:.0f} ms")
    print(summary("API Gateway, Lambda proxy (GET /ping)", proxy))
    print(summary("Lambda Invoke directly (boto3)", direct))
    print(summary("API Gateway, non-proxy + passthrough template", non_proxy))
    print(f"API Gateway overhead over Invoke at p50: {percentile(proxy, 0.5) - percentile(direct, 0.5):.1f} ms")
    print(f"{args.parallel} clients in parallel: {per_client * args.parallel / elapsed:.0f} requests/s")


if __name__ == "__main__":
    main()
