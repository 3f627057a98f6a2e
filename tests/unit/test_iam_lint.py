"""Every IAM policy in iam/ passes parliament, the IAM policy linter (github.com/duo-labs/parliament).

parliament checks each policy against the IAM grammar and AWS's Service Authorization Reference:
unknown actions, ARNs that do not fit the actions' resource types, condition keys an action does not
support, malformed statements. It lints the policies as the roles receive them, placeholders filled.
"""

from __future__ import annotations

import json

import pytest
from parliament import analyze_policy_string

from helpers import iam

ACCOUNT = "111122223333"
REGION = "eu-west-1"
# A realistic value for every placeholder the files use (a new placeholder fails the test below).
VALUES = {
    "Partition": "aws",
    "Region": REGION,
    "AccountId": ACCOUNT,
    "Bucket": f"aws-project-{ACCOUNT}-{REGION}",
    "StreamName": "api-data",
    "FunctionName": "kinesis_api",
    "InvoiceTable": "invoice",
    "CustomerTable": "customer",
    "FailureQueue": "write_kinesis_to_s3-failures",
    "RawPrefix": "aws-project/kinesis-stream/",
    "BulkImportPrefix": "aws-project/bulk-import/",
    "FirehosePrefix": "aws-project/firehose/",
    "FirehoseErrorsPrefix": "aws-project/firehose-errors/",
    "DeliveryStreamName": "api-data-to-redshift",
    "FirehoseSecret": "aws-project/redshift-firehose-user",
    "GlueDatabase": "aws-project",
    "GlueScriptsPrefix": "aws-project/glue-scripts/",
    "GlueTempPrefix": "aws-project/glue-temp/",
    "WarehouseSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:aws-project/redshift-admin-AbCdEf",
}


def findings(path) -> list[tuple[str, str]]:
    policy = analyze_policy_string(json.dumps(iam.render(path, VALUES)), include_community_auditors=True)
    found = [(f.issue, f.detail) for f in policy.findings]
    if path.name == iam.TRUST_FILE:
        # A trust policy is the role's resource-based policy ("AWS JSON policy elements: Principal",
        # IAM User Guide: "The IAM resource-based policy type is a role trust policy"): it names a
        # Principal, and its resource is the role it is attached to, so it has no Resource element.
        # parliament reads every document as an identity policy and reports that one absence;
        # nothing else is waived.
        found.remove(("MALFORMED", "Statement contains neither Resource nor NotResource"))
    return found


def test_every_placeholder_has_a_lint_value():
    used = set().union(*(iam.placeholders(p) for p in iam.policy_files()))
    assert used <= VALUES.keys(), f"add a realistic value for {sorted(used - VALUES.keys())}"


@pytest.mark.parametrize("path", iam.policy_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_policy_passes_parliament(path):
    assert findings(path) == []


def test_the_linter_does_flag_a_bad_policy():
    """The check above can fail: an unknown action and a resource of the wrong type are reported."""
    bad = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "kinesis:PutRecordz", "Resource": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/api-data"},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/api-data"},
        ],
    }  # fmt: skip
    issues = {f.issue for f in analyze_policy_string(json.dumps(bad)).findings}
    assert {"UNKNOWN_ACTION", "RESOURCE_MISMATCH"} <= issues
