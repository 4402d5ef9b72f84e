"""The bundle of AWS adapters the operator uses, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

import boto3

from serving_operator.aws.autoscaling import ApplicationAutoScaling
from serving_operator.aws.base import CLIENT_CONFIG
from serving_operator.aws.cloudwatch import CloudWatch
from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.aws.runtime import SageMakerRuntime
from serving_operator.aws.s3 import S3
from serving_operator.aws.sagemaker import SageMaker


@dataclass(frozen=True)
class Clients:
    sagemaker: SageMaker
    autoscaling: ApplicationAutoScaling
    s3: S3
    runtime: SageMakerRuntime
    cloudwatch: CloudWatch


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
    )
