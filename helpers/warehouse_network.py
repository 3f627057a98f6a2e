"""Let Firehose reach the workgroup, and nobody else: public accessibility plus a security group
that admits only Firehose's addresses on the Redshift port.

Firehose loads Redshift over a JDBC connection from AWS-owned addresses, one /27 block per Region.
"VPC access to an Amazon Redshift provisioned cluster or Amazon Redshift Serverless workgroup"
(Controlling access with Amazon Data Firehose,
https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-rs-vpc): the
workgroup "must be publicly accessible with a public IP address", and its security group must
unblock the Firehose CIDR block of its Region. The Data API needs neither.
"""

from __future__ import annotations

from typing import Any

from helpers import aws, config
from helpers.warehouse import ensure_workgroup_setting

REDSHIFT_PORT = 5439
# Firehose's CIDR block per Region, from the page above.
FIREHOSE_CIDRS = {
    "us-east-1": "52.70.63.192/27",
    "us-east-2": "13.58.135.96/27",
    "us-west-1": "13.57.135.192/27",
    "us-west-2": "52.89.255.224/27",
    "us-gov-east-1": "18.253.138.96/27",
    "us-gov-west-1": "52.61.204.160/27",
    "ca-central-1": "35.183.92.128/27",
    "sa-east-1": "18.228.1.128/27",
    "eu-west-1": "52.19.239.192/27",
    "eu-west-2": "18.130.1.96/27",
    "eu-west-3": "35.180.1.96/27",
    "eu-central-1": "35.158.127.160/27",
    "eu-south-1": "15.161.135.128/27",
    "me-south-1": "15.185.91.0/27",
    "af-south-1": "13.244.121.224/27",
    "ap-east-1": "18.162.221.32/27",
    "ap-south-1": "13.232.67.32/27",
    "ap-northeast-1": "13.113.196.224/27",
    "ap-northeast-2": "13.209.1.64/27",
    "ap-southeast-1": "13.228.64.192/27",
    "ap-southeast-2": "13.210.67.224/27",
    "ap-southeast-3": "108.136.221.64/27",
    "cn-north-1": "52.81.151.32/27",
    "cn-northwest-1": "161.189.23.64/27",
}


class NetworkSetupError(RuntimeError):
    """The workgroup's network cannot be opened to Firehose as the workbook does it."""


def firehose_cidr(region: str) -> str:
    try:
        return FIREHOSE_CIDRS[region]
    except KeyError:
        raise NetworkSetupError(
            f"no Firehose CIDR block known for {region}: look it up in 'VPC access to an Amazon Redshift provisioned "
            "cluster or Amazon Redshift Serverless workgroup' (Firehose Developer Guide) and add it to FIREHOSE_CIDRS"
        ) from None


def security_group_name() -> str:
    return f"{config.settings().names.redshift_workgroup}-firehose-access"


def _vpc_id(workgroup: dict[str, Any]) -> str:
    """The VPC of the workgroup's subnets, or the default VPC (where a workgroup without subnets lives)."""
    ec2 = aws.client("ec2")
    if workgroup.get("subnetIds"):
        return ec2.describe_subnets(SubnetIds=workgroup["subnetIds"][:1])["Subnets"][0]["VpcId"]
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise NetworkSetupError("the workgroup has no subnets and the Region has no default VPC")
    return vpcs[0]["VpcId"]


def _ensure_security_group(vpc_id: str, cidr: str) -> str:
    """A security group admitting TCP 5439 from ``cidr`` only; its id."""
    ec2 = aws.client("ec2")
    name = security_group_name()
    found = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}, {"Name": "vpc-id", "Values": [vpc_id]}]
    )["SecurityGroups"]
    group_id = found[0]["GroupId"] if found else ec2.create_security_group(
        GroupName=name,
        Description="Amazon Data Firehose to the workbook's Redshift workgroup",
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": aws.tag_list()}],
    )["GroupId"]
    rule = {
        "IpProtocol": "tcp",
        "FromPort": REDSHIFT_PORT,
        "ToPort": REDSHIFT_PORT,
        "IpRanges": [{"CidrIp": cidr, "Description": "Amazon Data Firehose"}],
    }
    try:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[rule])
    except ec2.exceptions.ClientError as error:
        if error.response["Error"]["Code"] != "InvalidPermission.Duplicate":
            raise
    return group_id


def open_to_firehose(workgroup_name: str) -> list[tuple[str, Any]]:
    """Make the workgroup publicly accessible, behind a security group that admits only Firehose's
    CIDR block on port 5439 (added to the groups it has); what was set, as rows."""
    rs = aws.client("redshift-serverless")
    workgroup = rs.get_workgroup(workgroupName=workgroup_name)["workgroup"]
    cidr = firehose_cidr(config.settings().region)
    vpc_id = _vpc_id(workgroup)
    group_id = _ensure_security_group(vpc_id, cidr)
    groups = list(workgroup.get("securityGroupIds") or [])
    if group_id not in groups:
        workgroup = ensure_workgroup_setting(workgroup_name, securityGroupIds=[*groups, group_id])
    if not workgroup["publiclyAccessible"]:
        workgroup = ensure_workgroup_setting(workgroup_name, publiclyAccessible=True)
    return [
        ("VPC", vpc_id),
        ("security group", f"{security_group_name()} ({group_id})"),
        ("admits", f"TCP {REDSHIFT_PORT} from {cidr} (Firehose, {config.settings().region}) only"),
        ("workgroup's security groups", ", ".join(workgroup["securityGroupIds"])),
        ("publicly accessible", workgroup["publiclyAccessible"]),
    ]
