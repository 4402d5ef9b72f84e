"""The bundle of AWS adapters the operator uses, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

import boto3

from serving_operator.aws.autoscaling import ApplicationAutoScaling
from serving_operator.aws.base import CLIENT_CONFIG
from serving_operator.aws.cloudwatch import CloudWatch
from serving_operator.aws.greengrass import GreengrassV2
from serving_operator.aws.iot import Iot
from serving_operator.aws.neo import Neo
from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.aws.runtime import SageMakerRuntime
from serving_operator.aws.s3 import S3
from serving_operator.aws.sagemaker import SageMaker
from serving_operator.aws.sts import Sts


@dataclass(frozen=True)
class EdgeClients:
    """What EdgeModel uses: Neo (in SageMaker's API), Greengrass v2, IoT, and STS for the
    account that component ARNs name."""

    neo: Neo
    greengrass: GreengrassV2
    iot: Iot
    sts: Sts


@dataclass(frozen=True)
class Clients:
    sagemaker: SageMaker
    autoscaling: ApplicationAutoScaling
    s3: S3
    runtime: SageMakerRuntime
    cloudwatch: CloudWatch
    edge: EdgeClients | None = None


def build_clients(calls_per_second: float, burst: int) -> Clients:
    """Adapters sharing one session and one client-side rate limit.

    boto3 finds region, credentials and AWS_ENDPOINT_URL (the sandbox in tests) itself.
    """
    session = boto3.session.Session()
    limiter = TokenBucket(calls_per_second, burst)
    return Clients(
        sagemaker=SageMaker(session.client("sagemaker", config=CLIENT_CONFIG), limiter),
        autoscaling=ApplicationAutoScaling(
            session.client("application-autoscaling", config=CLIENT_CONFIG), limiter
        ),
        s3=S3(session.client("s3", config=CLIENT_CONFIG), limiter),
        runtime=SageMakerRuntime(
            session.client("sagemaker-runtime", config=CLIENT_CONFIG), limiter
        ),
        cloudwatch=CloudWatch(session.client("cloudwatch", config=CLIENT_CONFIG), limiter),
        edge=EdgeClients(
            neo=Neo(session.client("sagemaker", config=CLIENT_CONFIG), limiter),
            greengrass=GreengrassV2(session.client("greengrassv2", config=CLIENT_CONFIG), limiter),
            iot=Iot(session.client("iot", config=CLIENT_CONFIG), limiter),
            sts=Sts(session.client("sts", config=CLIENT_CONFIG), limiter),
        ),
    )
