"""SageMaker Runtime adapter: invoke an endpoint (warm-up, the `invoke` command)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from serving_operator.aws.base import ServiceAdapter


@dataclass(frozen=True)
class Invocation:
    body: bytes
    content_type: str
    invoked_variant: str | None
    seconds: float


@dataclass(frozen=True)
class AsyncInvocation:
    """InvokeEndpointAsync's answer: where the result (or the failure) will land."""

    inference_id: str
    output_location: str
    failure_location: str | None


class SageMakerRuntime(ServiceAdapter):
    service = "sagemaker-runtime"

    def invoke(
        self,
        endpoint_name: str,
        body: bytes,
        *,
        content_type: str = "application/json",
        variant: str | None = None,
        target_model: str | None = None,
        target_container: str | None = None,
        component: str | None = None,
    ) -> Invocation:
        params: dict[str, object] = {
            "EndpointName": endpoint_name,
            "Body": body,
            "ContentType": content_type,
        }
        if variant:
            params["TargetVariant"] = variant
        if target_model:
            params["TargetModel"] = target_model
        if target_container:
            params["TargetContainerHostname"] = target_container
        if component:
            # botocore InvokeEndpointInput.InferenceComponentName: the component to call on
            # an endpoint of inference components.
            params["InferenceComponentName"] = component
        started = time.monotonic()
        response = self.call("InvokeEndpoint", **params)
        payload = response["Body"].read()
        return Invocation(
            body=payload,
            content_type=str(response.get("ContentType", "")),
            invoked_variant=response.get("InvokedProductionVariant"),
            seconds=time.monotonic() - started,
        )

    def invoke_async(
        self,
        endpoint_name: str,
        input_location: str,
        *,
        content_type: str = "application/json",
        inference_id: str | None = None,
    ) -> AsyncInvocation:
        """Queue a request whose payload is in S3 (InvokeEndpointAsync, botocore
        sagemaker-runtime: InputLocation; the answer's InferenceId, OutputLocation and
        FailureLocation, the last only when the endpoint config has an S3FailurePath)."""
        params: dict[str, object] = {
            "EndpointName": endpoint_name,
            "InputLocation": input_location,
            "ContentType": content_type,
        }
        if inference_id:
            params["InferenceId"] = inference_id
        response = self.call("InvokeEndpointAsync", **params)
        return AsyncInvocation(
            inference_id=str(response.get("InferenceId", "")),
            output_location=str(response["OutputLocation"]),
            failure_location=response.get("FailureLocation"),
        )
