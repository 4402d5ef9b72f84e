"""Plan one whole ModelEndpoint pass: the endpoint, ownership, autoscaling, clean-up, warm-up.

The reconciler calls `plan_model_endpoint` with what it has read; the planner either asks
for more (`EndpointLookups`: each read costs AWS calls, so only what the decision depends on) or
returns the plan. Every decision lives here, where unit tests see it: adoption, the
autoscaling stand-down around a config switch, and the memory of the last attempted config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, replace
from datetime import datetime, timedelta

from serving_operator.planning.modelendpoint.actions import (
    Action,
    CreateEndpoint,
    DeregisterReason,
    Step,
    TagEndpoint,
    UpdateEndpoint,
    WarmUpModel,
)
from serving_operator.planning.modelendpoint.autoscaling import plan_autoscaling
from serving_operator.planning.modelendpoint.desired import DesiredEndpoint
from serving_operator.planning.modelendpoint.endpoint import (
    UPDATE_FAILED,
    needs_artifacts,
    plan_cleanup,
    plan_deletion,
    plan_endpoint,
)
from serving_operator.planning.modelendpoint.memory import Memory
from serving_operator.planning.modelendpoint.observed import (
    EndpointLookups,
    ModelEndpointObservation,
    ObservedEndpoint,
    ObservedScaling,
)
from serving_operator.planning.naming import content_hash
from serving_operator.planning.outcome import Outcome, OutcomeKind, Plan, Remember
from serving_operator.planning.ownership import Ownership
from serving_operator.planning.windows import window_start

ENDPOINT_NOT_OWNED = "EndpointNotOwned"
RETAINED = "Retained"
# A steady pass trusts the scaling it last read and made match within one window of this
# length, as long as the autoscaling spec and the endpoint's variants are unchanged; in the
# next window it reads it again, so drift (someone editing or deregistering a target) is
# corrected within this bound plus a resync. The windows are the same clock hours for every
# endpoint, so their rechecks fall together and share one namespace-wide read (the adapter's:
# one DescribeScalableTargets per 50 variants, one policy listing) instead of a few calls each.
SCALING_RECHECK_SECONDS = 3600.0
_SCALING_RECHECK = timedelta(seconds=SCALING_RECHECK_SECONDS)
# The model files under a multi-model variant's S3 prefix are listed for status only
# (status.variants[].modelsFound): nothing the operator writes depends on them. They are
# listed in the pass that finds a rollout done (with its warm-ups) and then again once the
# last listing is this old, so models added or removed under the prefix show within this
# bound plus a resync. Each endpoint's age is its own: the listings are not shared, so
# spreading them out is better than bunching them at the hour.
MODELS_RECHECK_SECONDS = 3600.0
_MODELS_RECHECK = timedelta(seconds=MODELS_RECHECK_SECONDS)


def scaling_window_start(now: datetime) -> datetime:
    """The start of the recheck window `now` falls in (a clock hour, the same for all)."""
    return window_start(now, _SCALING_RECHECK)


def plan_model_endpoint(
    desired: DesiredEndpoint,
    observed: ModelEndpointObservation,
    memory: Memory,
    *,
    owner: str,
    adopt: bool,
    now: datetime,
) -> Plan[Step] | EndpointLookups:
    """The next pass for an endpoint, or the reads it still needs; `now` timezone-aware."""
    endpoint = observed.endpoint
    if needs_artifacts(desired, endpoint):
        missing = observed.missing(EndpointLookups(artifacts=True))
        if missing:
            return missing
    plan = plan_endpoint(
        desired, endpoint, observed.artifacts, last_attempted_config=memory.attempted_config
    )
    steps: list[Step] = list(plan.actions)

    if endpoint is not None and (steps or memory.attempted_config is None):
        # Ownership costs a ListTags call, so it is checked only before a write, and while
        # this resource never switched the endpoint to a config of its own: an endpoint made
        # by someone else that happens to run the same config (a second resource with the
        # same spec.endpointName) is not ours to report Ready, clean up or scale.
        if observed.owner is None:
            return EndpointLookups(owner=True)
        relation = observed.owner.relation_to(owner)
        if relation == Ownership.UNTAGGED and adopt:
            steps.insert(0, TagEndpoint(endpoint.arn, desired.tags))
        elif relation != Ownership.OURS:
            hint = (
                "set spec.adopt: true to take it over"
                if relation == Ownership.UNTAGGED
                else f"it belongs to {observed.owner.owner}"
            )
            return Plan(
                (),
                Outcome.stalled(
                    ENDPOINT_NOT_OWNED,
                    f"SageMaker endpoint {endpoint.name} exists and was not created by this"
                    f" resource ({hint}), or choose another spec.endpointName",
                ),
            )
        if memory.attempted_config is None and endpoint.config_name == desired.config_name:
            # Ours, on our config (a status that was lost, or adopted as it was): remember
            # it, so later steady passes need no ListTags.
            memory = replace(memory, attempted_config=desired.config_name)
            steps.append(Remember(memory))

    if memory.scaling_registered and any(isinstance(s, UpdateEndpoint) for s in steps):
        assert endpoint is not None  # only an existing endpoint is updated
        stand_down = _stand_down(desired, endpoint, observed, memory)
        if isinstance(stand_down, EndpointLookups):
            return stand_down
        steps[:0] = stand_down
        memory = replace(memory, scaling_registered=False, scaling_checked=None)

    for step in list(steps):
        if isinstance(step, CreateEndpoint | UpdateEndpoint):
            first = isinstance(step, CreateEndpoint) and memory == Memory()
            memory = replace(memory, attempted_config=step.config_name)
            if first:
                # The first endpoint this resource ever made: it never ran another config,
                # so once it is up there is nothing old to collect, and the listing (one
                # ListEndpointConfigs, one ListModels and a ListTags per object) is skipped.
                # A recreated endpoint (after Failed, or deleted out of band) remembers an
                # earlier attempt and is cleaned up as usual. Objects left by a create that
                # failed before CreateEndpoint under an older spec are collected at the next
                # config switch or at deletion, which both list.
                memory = replace(memory, cleaned_for_config=step.config_name)
            steps.insert(steps.index(step) + 1, Remember(memory))

    if plan.outcome.kind == OutcomeKind.READY:
        after = _after_rollout(desired, observed, memory, now)
        if isinstance(after, EndpointLookups):
            return after
        steps += after
    elif plan.outcome.reason == UPDATE_FAILED and endpoint is not None and desired.autoscaled:
        # SageMaker rolled back to the old config: keep scaling the variants it still runs
        # (autoscaling was stood down for the update) until the spec is fixed.
        running = frozenset(v.name for v in endpoint.variants)
        kept = replace(desired, variants=tuple(v for v in desired.variants if v.name in running))
        sync = _sync_autoscaling(kept, observed, memory, running, now)
        if isinstance(sync, EndpointLookups):
            return sync
        steps += sync[0]
    return Plan(tuple(steps), plan.outcome)


def _scaling_read(
    observed: ModelEndpointObservation, variants: frozenset[str]
) -> Mapping[str, ObservedScaling]:
    """The scaling read for `variants` (once `missing` found nothing left to read): none for
    no variants (an endpoint that reports none has nothing an autoscaler could scale)."""
    if not variants:
        return {}
    assert observed.scaling is not None
    return observed.scaling


def _stand_down(
    desired: DesiredEndpoint,
    endpoint: ObservedEndpoint,
    observed: ModelEndpointObservation,
    memory: Memory,
) -> list[Step] | EndpointLookups:
    """Deregister our scalable targets before a config switch; re-registered once InService."""
    variants = frozenset(v.name for v in endpoint.variants)
    missing = observed.missing(EndpointLookups(scaling_variants=variants))
    if missing:
        return missing
    nothing_wanted = replace(desired, variants=())
    return [
        *plan_autoscaling(
            nothing_wanted,
            _scaling_read(observed, variants),
            removal=DeregisterReason.STAND_DOWN_FOR_UPDATE,
        ),
        Remember(replace(memory, scaling_registered=False, scaling_checked=None)),
    ]


def _scaling_variants(
    desired: DesiredEndpoint, endpoint: ObservedEndpoint | None
) -> frozenset[str]:
    """Variants whose scaling to read: the spec's, and those the endpoint still runs."""
    names = {v.name for v in desired.variants}
    if endpoint is not None:
        names |= {v.name for v in endpoint.variants}
    return frozenset(names)


def scaling_fingerprint(desired: DesiredEndpoint, variants: frozenset[str]) -> str:
    """What the scaling read depends on: the autoscaling spec and the variants to read."""
    return content_hash(
        {
            "autoscaled": [asdict(a) for a in desired.autoscaled],
            "variants": sorted(variants),
        }
    )


def _scaling_recently_checked(memory: Memory, fingerprint: str, now: datetime) -> bool:
    """Whether the last scaling read still stands: same spec and variants, read in this
    window (a clock that went back counts as old)."""
    return (
        memory.scaling_checked == fingerprint
        and memory.scaling_checked_at is not None
        and scaling_window_start(now) <= memory.scaling_checked_at <= now
    )


def _sync_autoscaling(
    desired: DesiredEndpoint,
    observed: ModelEndpointObservation,
    memory: Memory,
    variants: frozenset[str],
    now: datetime,
    *,
    shared_since: datetime | None = None,
) -> tuple[list[Step], Memory] | EndpointLookups:
    """Make the variants' scaling match `desired`; remember what was read and when (after the
    writes, so a failed write leaves it to be read again). `shared_since`: see EndpointLookups."""
    missing = observed.missing(
        EndpointLookups(scaling_variants=variants, scaling_shared_since=shared_since)
    )
    if missing:
        return missing
    steps: list[Step] = list(plan_autoscaling(desired, _scaling_read(observed, variants)))
    memory = replace(
        memory,
        scaling_registered=bool(desired.autoscaled),
        scaling_checked=scaling_fingerprint(desired, variants),
        scaling_checked_at=now,
    )
    steps.append(Remember(memory))
    return steps, memory


def multi_model_prefixes(desired: DesiredEndpoint) -> frozenset[str]:
    """The S3 prefixes the endpoint's multi-model variants load their models from."""
    models = {m.name: m for m in desired.models}
    return frozenset(
        prefix
        for variant in desired.variants
        if variant.model_name is not None
        and (prefix := models[variant.model_name].multi_model_prefix) is not None
    )


def _models_recently_listed(memory: Memory, config_name: str, now: datetime) -> bool:
    """Whether the last listing of the prefixes still stands: made for this config, less than
    MODELS_RECHECK_SECONDS ago (a clock that went back counts as old)."""
    return (
        memory.models_listed_for_config == config_name
        and memory.models_listed_at is not None
        and memory.models_listed_at <= now < memory.models_listed_at + _MODELS_RECHECK
    )


def _after_rollout(
    desired: DesiredEndpoint, observed: ModelEndpointObservation, memory: Memory, now: datetime
) -> list[Step] | EndpointLookups:
    """Work that needs the endpoint InService on the desired config."""
    models = {m.name: m for m in desired.models}
    prefixes = multi_model_prefixes(desired)
    list_models = bool(prefixes) and not _models_recently_listed(memory, desired.config_name, now)
    variants = _scaling_variants(desired, observed.endpoint)
    fingerprint = scaling_fingerprint(desired, variants)
    sync_scaling = (bool(desired.autoscaled) or memory.scaling_registered) and not (
        _scaling_recently_checked(memory, fingerprint, now)
    )
    # Only the periodic recheck of what was last made to match may share a read with other
    # endpoints; after any change (spec, variants, a first check) the scaling is read now.
    shared_since = (
        scaling_window_start(now)
        if sync_scaling and memory.scaling_checked == fingerprint
        else None
    )
    wanted = EndpointLookups(
        owned_objects=memory.cleaned_for_config != desired.config_name,
        scaling_variants=variants if sync_scaling else frozenset(),
        scaling_shared_since=shared_since,
        model_prefixes=prefixes if list_models else frozenset(),
    )
    missing = observed.missing(wanted)
    if missing:
        return missing

    steps: list[Step] = []
    if list_models:
        # Remembered first: the listing was made, whatever a write after it does.
        memory = replace(memory, models_listed_for_config=desired.config_name, models_listed_at=now)
        steps.append(Remember(memory))
    elif not prefixes and memory.models_listed_for_config is not None:
        # No multi-model variant any more: forget the listing, so one that comes back is
        # listed at once.
        memory = replace(memory, models_listed_for_config=None, models_listed_at=None)
        steps.append(Remember(memory))
    if wanted.owned_objects:
        assert observed.owned_configs is not None
        assert observed.owned_models is not None
        steps += plan_cleanup(desired, observed.owned_configs, observed.owned_models)
        memory = replace(memory, cleaned_for_config=desired.config_name)
        steps.append(Remember(memory))
    if sync_scaling:
        sync = _sync_autoscaling(
            desired, observed, memory, variants, now, shared_since=shared_since
        )
        assert not isinstance(sync, EndpointLookups)  # read above
        scaling_steps, memory = sync
        steps += scaling_steps
    if memory.warmed_for_config != desired.config_name:
        steps += [
            WarmUpModel(desired.endpoint_name, variant.name, target)
            for variant in desired.variants
            if variant.model_name is not None and models[variant.model_name].warm_up
            for target in models[variant.model_name].target_models
        ]
        steps.append(Remember(replace(memory, warmed_for_config=desired.config_name)))
    return steps


def plan_model_endpoint_deletion(
    endpoint_name: str,
    variant_names: frozenset[str],
    observed: ModelEndpointObservation,
    memory: Memory,
    *,
    owner: str,
    retain: bool,
    autoscaled: bool,
) -> Plan[Step] | EndpointLookups:
    """One pass of deletion; the resource may go once the outcome is Ready.

    `variant_names` are the spec's variants; `autoscaled` whether any has autoscaling. An
    endpoint that is not ours is left alone, but the configs and models we made are still
    removed.
    """
    if retain:
        return Plan(
            (),
            Outcome.ready(
                RETAINED, f"deletionPolicy is Retain: endpoint {endpoint_name} left in AWS"
            ),
        )
    endpoint = observed.endpoint
    if endpoint is not None:
        if observed.owner is None:
            return EndpointLookups(owner=True)
        if observed.owner.relation_to(owner) != Ownership.OURS:
            endpoint = None
    if endpoint is not None:
        return plan_deletion(endpoint_name, endpoint, frozenset(), frozenset())

    deregister = memory.scaling_registered or autoscaled
    wanted = EndpointLookups(
        owned_objects=True, scaling_variants=variant_names if deregister else frozenset()
    )
    missing = observed.missing(wanted)
    if missing:
        return missing
    assert observed.owned_configs is not None
    assert observed.owned_models is not None
    plan = plan_deletion(endpoint_name, None, observed.owned_configs, observed.owned_models)
    steps: list[Step] = list(plan.actions)
    if deregister:
        assert observed.scaling is not None
        nothing_wanted = DesiredEndpoint(endpoint_name, "", (), (), ())
        steps += plan_autoscaling(
            nothing_wanted, observed.scaling, removal=DeregisterReason.ENDPOINT_DELETED
        )
    return Plan(tuple(steps), plan.outcome)


def changes_made(steps: tuple[Step, ...]) -> tuple[Action, ...]:
    """The AWS writes among `steps` (each is reported as an Event)."""
    return tuple(s for s in steps if not isinstance(s, Remember | WarmUpModel))
