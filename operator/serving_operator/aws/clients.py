"""The bundle of AWS adapters the operator uses, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3

from serving_operator.aws.autoscaling import ApplicationAutoScaling
from serving_operator.aws.base import CLIENT_CONFIG
from serving_operator.aws.cloudwatch import CloudWatch
from serving_operator.aws.copyscaling import CopyScaling
from serving_operator.aws.greengrass import GreengrassV2
from serving_operator.aws.inferencecomponents import InferenceComponents
from serving_operator.aws.iot import Iot
from serving_operator.aws.neo import Neo
from serving_operator.aws.ratelimit import ServiceLimits
from serving_operator.aws.runtime import SageMakerRuntime
from serving_operator.aws.s3 import S3
from serving_operator.aws.sagemaker import SageMaker
from serving_operator.aws.sts import Sts


@dataclass(frozen=True)
class EdgeClients:
    """What EdgeModel uses: Neo (in SageMaker's API), Greengrass v2, IoT, STS for the
    account that component ARNs name, and S3 for the entrypoint it publishes."""

    neo: Neo
    greengrass: GreengrassV2
    iot: Iot
    sts: Sts
    s3: S3


@dataclass(frozen=True)
class Clients:
    sagemaker: SageMaker
    autoscaling: ApplicationAutoScaling
    s3: S3
    runtime: SageMakerRuntime
    cloudwatch: CloudWatch
    edge: EdgeClients | None = None
    components: InferenceComponents | None = None
    copy_scaling: CopyScaling | None = None


def build_clients(limits: ServiceLimits | None = None) -> Clients:
    """Adapters sharing one session, each service held to its own client-side rate limit
    (several adapters on one service, SageMaker and Neo, share its bucket).

    boto3 finds region, credentials and AWS_ENDPOINT_URL (the sandbox in tests) itself.
    """
    session = boto3.session.Session()
    limits = limits or ServiceLimits({})

    def client(service: str) -> Any:
        return session.client(service, config=CLIENT_CONFIG)  # type: ignore[call-overload]

    limit = limits.for_service
    return Clients(
        sagemaker=SageMaker(client("sagemaker"), limit("sagemaker")),
        autoscaling=ApplicationAutoScaling(
            client("application-autoscaling"), limit("application-autoscaling")
        ),
        s3=S3(client("s3"), limit("s3")),
        runtime=SageMakerRuntime(client("sagemaker-runtime"), limit("sagemaker-runtime")),
        cloudwatch=CloudWatch(client("cloudwatch"), limit("cloudwatch")),
        edge=EdgeClients(
            neo=Neo(client("sagemaker"), limit("sagemaker")),
            greengrass=GreengrassV2(client("greengrassv2"), limit("greengrassv2")),
            iot=Iot(client("iot"), limit("iot")),
            sts=Sts(client("sts"), limit("sts")),
            s3=S3(client("s3"), limit("s3")),
        ),
        components=InferenceComponents(client("sagemaker"), limit("sagemaker")),
        copy_scaling=CopyScaling(
            client("application-autoscaling"), limit("application-autoscaling")
        ),
    )
