"""What must hold before a split's phases can act: the ModelEndpoint is found, in this
operator's shard, its weights not another split's, and it declares the split's variants;
then the SageMaker endpoint exists and runs them."""

from __future__ import annotations

from serving_operator.api.trafficsplit import TrafficSplitSpec
from serving_operator.planning.outcome import Outcome
from serving_operator.planning.trafficsplit.observed import SplitObservation
from serving_operator.planning.trafficsplit.reasons import (
    ASYNC_ENDPOINT,
    ENDPOINT_HOSTS_COMPONENTS,
    MODEL_ENDPOINT_IN_OTHER_SHARD,
    MODEL_ENDPOINT_NOT_FOUND,
    VARIANT_NOT_FOUND,
    WEIGHTS_MANAGED_ELSEWHERE,
)
from serving_operator.planning.trafficsplit.steps import named_variants


def target_problem(spec: TrafficSplitSpec, observed: SplitObservation) -> Outcome | None:
    """Stalled when the referenced ModelEndpoint cannot be the split's: a person must act."""
    if observed.target is None:
        return Outcome.stalled(
            MODEL_ENDPOINT_NOT_FOUND,
            f"ModelEndpoint {spec.endpoint_ref.name} not found in this namespace",
        )
    if observed.target.outside_shard is not None:
        # Its weights belong to the other shard's operator, which does not see this split.
        return Outcome.stalled(
            MODEL_ENDPOINT_IN_OTHER_SHARD,
            f"ModelEndpoint {spec.endpoint_ref.name} is handled by another shard: its labels"
            f" do not match this operator's selector {observed.target.outside_shard!r};"
            " label the TrafficSplit and its ModelEndpoint for the same shard",
        )
    if observed.target.asynchronous:
        # An asynchronous endpoint has one production variant (ModelEndpoint's rule), and
        # InvokeEndpointAsync cannot name a variant nor do its queue metrics have one: there
        # is nothing to split or to compare.
        return Outcome.stalled(
            ASYNC_ENDPOINT,
            f"ModelEndpoint {spec.endpoint_ref.name} is an asynchronous endpoint"
            " (spec.asyncInference): it has one production variant, so a TrafficSplit cannot"
            " apply; compare models with two endpoints instead",
        )
    if observed.target.hosts_components:
        return Outcome.stalled(
            ENDPOINT_HOSTS_COMPONENTS,
            f"ModelEndpoint {spec.endpoint_ref.name} hosts inference components: traffic weights"
            " are per production variant and inference components are not weighted (each is"
            " invoked by its own name), so a TrafficSplit does not apply; roll out a"
            " component's new model by changing its InferenceComponent instead",
        )
    if observed.competing_split is not None:
        return Outcome.stalled(
            WEIGHTS_MANAGED_ELSEWHERE,
            f"the weights of ModelEndpoint {spec.endpoint_ref.name} are managed by"
            f" TrafficSplit {observed.competing_split}",
        )
    missing = named_variants(spec) - observed.target.variants
    if missing:
        return Outcome.stalled(
            VARIANT_NOT_FOUND,
            f"ModelEndpoint {spec.endpoint_ref.name} has no variant(s)"
            f" {', '.join(sorted(missing))}",
        )
    return None


def endpoint_wait(spec: TrafficSplitSpec, observed: SplitObservation) -> Outcome | None:
    """Progressing while the ModelEndpoint has not made the endpoint or its variants yet."""
    if observed.endpoint is None:
        return Outcome.progressing(
            "WaitingForEndpoint",
            f"SageMaker endpoint {observed.target.endpoint_name if observed.target else ''}"
            " does not exist yet",
        )
    missing = named_variants(spec) - observed.endpoint.variant_names
    if missing:
        return Outcome.progressing(
            "WaitingForVariants",
            f"endpoint {observed.endpoint.name} does not run variant(s)"
            f" {', '.join(sorted(missing))} yet",
        )
    return None
