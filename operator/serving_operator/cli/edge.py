"""`serving-operator edge-status NAME`: an EdgeModel's rollout, device by device."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from serving_operator.cli.output import EXIT_FAILED, UserError, emit, output_option


def edge_model_path(namespace: str, name: str) -> str:
    return f"/apis/serving.mlops.dev/v1alpha1/namespaces/{namespace}/edgemodels/{name}"


def device_rows(obj: dict[str, Any], executions: Any) -> list[dict[str, Any]]:
    """One row per device of each stage's IoT jobs; `executions(job_id)` lists a job's."""
    rows = []
    for stage in obj.get("status", {}).get("stages", []):
        for deployment in stage.get("deployments", []):
            job_id = deployment.get("iotJobId")
            if not job_id:
                continue
            for execution in executions(job_id):
                rows.append(
                    {
                        "stage": stage["name"],
                        "thingGroup": deployment["thingGroup"],
                        "device": execution.thing_name,
                        "status": execution.status,
                        "detailedStatus": execution.detailed_status,
                        "updatedAt": execution.updated_at,
                        "deploymentId": deployment.get("deploymentId"),
                    }
                )
    return rows


@click.command("edge-status")
@click.argument("name")
@click.option("-n", "--namespace", default="default", show_default=True)
@output_option()
def edge_status(name: str, namespace: str, output: str) -> int:
    """Show an EdgeModel's targets, stages and each device's deployment outcome."""
    import boto3
    import botocore.exceptions

    from serving_operator.aws.base import CLIENT_CONFIG, AwsError
    from serving_operator.aws.iot import DeviceExecution, Iot
    from serving_operator.aws.ratelimit import TokenBucket
    from serving_operator.preflight.aws import REGION_FIX, adopt_aws_region
    from serving_operator.preflight.kube import (
        KubeApi,
        KubeApiError,
        KubeLoginError,
        KubeUnreachableError,
        login,
    )

    try:
        obj = KubeApi(login()).get(edge_model_path(namespace, name))
    except (KubeLoginError, KubeUnreachableError) as error:
        raise UserError(str(error)) from error
    except KubeApiError as error:
        if error.status == 404:
            raise UserError(f"no EdgeModel {namespace}/{name}") from error
        raise UserError(str(error)) from error
    if adopt_aws_region().region is None:
        raise UserError(f"no AWS region set: {REGION_FIX}")
    try:
        iot = Iot(boto3.session.Session().client("iot", config=CLIENT_CONFIG), TokenBucket(10, 10))
    except botocore.exceptions.BotoCoreError as error:
        raise UserError(str(error)) from error

    def executions(job_id: str) -> list[DeviceExecution]:
        found = iot.executions(job_id)
        return [
            DeviceExecution(
                e.thing_name, e.status, iot.execution_detail(job_id, e.thing_name), e.updated_at
            )
            for e in found
        ]

    try:
        rows = device_rows(obj, executions)
    except AwsError as error:
        click.echo(f"error: {error}", err=True)
        return EXIT_FAILED
    status = obj.get("status", {})
    data = {
        "name": name,
        "namespace": namespace,
        "currentStage": status.get("currentStage"),
        "devicesOk": status.get("devicesOk"),
        "targets": status.get("targets", []),
        "stages": [
            {k: s.get(k) for k in ("name", "phase", "gate", "devices")}
            for s in status.get("stages", [])
        ],
        "devices": rows,
    }

    def table(console: Any) -> None:
        targets = Table("TARGET", "JOB", "STATUS", "COMPONENT", "VERSION", "STATE")
        for t in data["targets"]:
            targets.add_row(
                t["name"],
                t.get("compilationJobName") or "-",
                t.get("compilationJobStatus") or "-",
                t.get("componentName") or "-",
                t.get("componentVersion") or "-",
                t.get("componentState") or t.get("failureReason") or "-",
            )
        console.print(targets)
        stages = Table("STAGE", "PHASE", "GATE")
        for s in data["stages"]:
            stages.add_row(s["name"], s.get("phase") or "-", s.get("gate") or "-")
        console.print(stages)
        devices = Table("STAGE", "THING GROUP", "DEVICE", "STATUS", "DETAIL")
        for r in rows:
            devices.add_row(
                r["stage"], r["thingGroup"], r["device"], r["status"], r["detailedStatus"] or "-"
            )
        console.print(devices)

    emit(data, output, table)
    return 0
