"""One reconcile pass of an InferenceComponent: read the component (and, when the planner
asks, the host endpoint, the component's owner tag and its copy scaling), plan, execute.
Decides nothing itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import assert_never

from serving_operator.api.inferencecomponent import DeletionPolicy, InferenceComponentSpec
from serving_operator.aws.clients import Clients
from serving_operator.aws.copyscaling import CopyScaling
from serving_operator.aws.inferencecomponents import InferenceComponents
from serving_operator.planning.inferencecomponent.actions import (
    ComponentAction,
    CreateComponentModel,
    CreateInferenceComponent,
    DeleteComponentModel,
    DeleteInferenceComponent,
    DeregisterCopyScaling,
    PutCopyScalingPolicy,
    PutScaleFromZero,
    RegisterCopyScaling,
    RemoveScaleFromZero,
    UpdateComponentCopies,
    UpdateInferenceComponent,
)
from serving_operator.planning.inferencecomponent.desired import (
    DesiredComponent,
    scaling_resource_id,
)
from serving_operator.planning.inferencecomponent.memory import ComponentMemory
from serving_operator.planning.inferencecomponent.observed import (
    ComponentLookups,
    ComponentObservation,
    HostEndpoint,
    ObservedHostState,
    Read,
)
from serving_operator.planning.inferencecomponent.planner import (
    plan_component_deletion,
    plan_inference_component,
)
from serving_operator.planning.ownership import owner_id
from serving_operator.reconcile.passes import PassResult, run_pass

ComponentPass = PassResult[
    ComponentAction, ComponentMemory, DesiredComponent | None, ComponentObservation
]
DeletionPass = PassResult[ComponentAction, ComponentMemory, None, ComponentObservation]


class InferenceComponentReconciler:
    def __init__(self, clients: Clients) -> None:
        assert clients.components is not None
        assert clients.copy_scaling is not None
        self._aws = clients
        self._components: InferenceComponents = clients.components
        self._scaling: CopyScaling = clients.copy_scaling

    def reconcile(
        self,
        spec: InferenceComponentSpec,
        host: HostEndpoint | None,
        memory: ComponentMemory,
        *,
        namespace: str,
        name: str,
        now: datetime,
    ) -> ComponentPass:
        component_name = spec.component_name or name
        return run_pass(
            memory=memory,
            observe=lambda: self._observe(
                component_name,
                host,
                now,
                # A reference the planner stalls on reads nothing from AWS.
                read_component=host is not None
                and host.hosts_components
                and host.outside_shard is None,
            ),
            plan=lambda seen: plan_inference_component(
                spec, seen, memory, namespace=namespace, name=name
            ),
            look_up=lambda lookups, seen: self._look_up(component_name, lookups, seen),
            execute=self._execute,
        )

    def delete(
        self,
        spec: InferenceComponentSpec,
        memory: ComponentMemory,
        *,
        namespace: str,
        name: str,
        now: datetime,
    ) -> DeletionPass:
        component_name = spec.component_name or name
        retain = spec.deletion_policy == DeletionPolicy.RETAIN
        return run_pass(
            memory=memory,
            observe=lambda: self._observe(component_name, None, now, read_component=not retain),
            plan=lambda seen: plan_component_deletion(
                component_name, seen, memory, owner=owner_id(namespace, name), retain=retain
            ),
            look_up=lambda lookups, seen: self._look_up(component_name, lookups, seen),
            execute=self._execute,
        )

    def _observe(
        self, component_name: str, host: HostEndpoint | None, now: datetime, *, read_component: bool
    ) -> ComponentObservation:
        return ComponentObservation(
            now=now,
            host=host,
            component=self._components.describe(component_name) if read_component else None,
        )

    def _look_up(
        self, component_name: str, lookups: ComponentLookups, observed: ComponentObservation
    ) -> ComponentObservation:
        if lookups.endpoint:
            assert observed.host is not None
            endpoint = self._aws.sagemaker.describe_endpoint(observed.host.endpoint_name)
            state = (
                ObservedHostState(
                    status=endpoint.status.value,
                    variants=frozenset(v.name for v in endpoint.variants),
                )
                if endpoint is not None
                else None
            )
            observed = replace(observed, endpoint=Read(state))
        if lookups.owner:
            observed = replace(observed, owner=Read(self._components.owner_of(component_name)))
        if lookups.scaling:
            observed = replace(
                observed,
                scaling=Read(
                    self._scaling.observe(
                        scaling_resource_id(component_name),
                        # The adapter keeps its reads in epoch seconds.
                        shared_since=lookups.scaling_shared_since.timestamp()
                        if lookups.scaling_shared_since is not None
                        else None,
                        now=observed.now.timestamp(),
                    )
                ),
            )
        return observed

    def _execute(self, action: ComponentAction) -> bool:
        match action:
            case (
                CreateComponentModel()
                | CreateInferenceComponent()
                | UpdateInferenceComponent()
                | UpdateComponentCopies()
                | DeleteInferenceComponent()
                | DeleteComponentModel()
            ):
                return self._components.execute(action)
            case RegisterCopyScaling() | PutCopyScalingPolicy():
                return self._scaling.execute(action)
            case DeregisterCopyScaling():
                # Deregistering the target deletes its policies, not the alarm that sets
                # the step policy off.
                changed = self._scaling.execute(action)
                return self._aws.cloudwatch.delete_alarm(action.alarm_name) or changed
            case PutScaleFromZero():
                arn = self._scaling.put_step_policy(
                    action.resource_id, action.policy_name, action.configuration
                )
                self._aws.cloudwatch.put_alarm(action.alarm, [arn])
                return True
            case RemoveScaleFromZero():
                removed = self._scaling.delete_policy(action.resource_id, action.policy_name)
                return self._aws.cloudwatch.delete_alarm(action.alarm_name) or removed
            case _:
                assert_never(action)
