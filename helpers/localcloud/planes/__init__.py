"""The data planes, in the order the server offers them each request.

Each module holds one emulated AWS behaviour (see ``helpers.localcloud.plane``). To add one, write
its module and add its class here.
"""

from __future__ import annotations

from helpers.localcloud.plane import Context, DataPlane


def plane_classes() -> list[type[DataPlane]]:
    from helpers.localcloud.planes.apigateway_invoke import ApiGatewayInvoke
    from helpers.localcloud.planes.dynamodb_process import DynamoDBProcess
    from helpers.localcloud.planes.event_bus import EventBus
    from helpers.localcloud.planes.event_schedules import EventSchedules
    from helpers.localcloud.planes.firehose_delivery import FirehoseDelivery
    from helpers.localcloud.planes.glue_crawlers import GlueCrawlers
    from helpers.localcloud.planes.glue_jobs import GlueJobs
    from helpers.localcloud.planes.health import Health
    from helpers.localcloud.planes.kinesis_mappings import KinesisMappings
    from helpers.localcloud.planes.kinesis_puts import KinesisPuts
    from helpers.localcloud.planes.lambda_invoke import LambdaInvoke
    from helpers.localcloud.planes.moto_fast_paths import MotoFastPaths
    from helpers.localcloud.planes.redshift_data import RedshiftData
    from helpers.localcloud.planes.redshift_serverless import RedshiftServerless

    return [Health, DynamoDBProcess, LambdaInvoke, KinesisMappings, KinesisPuts, ApiGatewayInvoke, RedshiftServerless, RedshiftData, FirehoseDelivery, EventSchedules, EventBus, GlueCrawlers, GlueJobs, MotoFastPaths]


def load_planes(ctx: Context) -> list[DataPlane]:
    return [cls(ctx) for cls in plane_classes()]
