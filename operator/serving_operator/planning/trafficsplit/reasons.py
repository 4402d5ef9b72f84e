"""The reasons a split gives (status.reason and the outcome's), besides those a phase names."""

# Why a canary is Paused (status.reason while status.phase is Paused).
MANUAL_GATE = "ManualGate"
PAUSED_BY_SPEC = "PausedBySpec"
INSUFFICIENT_TRAFFIC = "InsufficientTraffic"
AWAITING_PROMOTION = "AwaitingPromotion"
ENDPOINT_NOT_READY = "EndpointNotReady"
# Why a split is Stalled before any phase work.
MODEL_ENDPOINT_NOT_FOUND = "ModelEndpointNotFound"
MODEL_ENDPOINT_IN_OTHER_SHARD = "ModelEndpointInOtherShard"
VARIANT_NOT_FOUND = "VariantNotFound"
ENDPOINT_HOSTS_COMPONENTS = "EndpointHostsInferenceComponents"
WEIGHTS_MANAGED_ELSEWHERE = "WeightsManagedElsewhere"
ASYNC_ENDPOINT = "AsynchronousEndpoint"
