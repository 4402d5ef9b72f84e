"""The API of serving-operator: pydantic models of each kind's spec and status.

The CRDs in ``crds/`` are generated from these models (``serving-operator crds``).
This package imports nothing else of ours.
"""

from serving_operator.api.edgemodel import EDGE_MODEL
from serving_operator.api.inferencecomponent import INFERENCE_COMPONENT
from serving_operator.api.modelendpoint import MODEL_ENDPOINT
from serving_operator.api.trafficsplit import TRAFFIC_SPLIT

GROUP = "serving.mlops.dev"
VERSION = "v1alpha1"

__all__ = [
    "ALL_KINDS",
    "EDGE_MODEL",
    "GROUP",
    "INFERENCE_COMPONENT",
    "MODEL_ENDPOINT",
    "TRAFFIC_SPLIT",
    "VERSION",
]

ALL_KINDS = (MODEL_ENDPOINT, TRAFFIC_SPLIT, EDGE_MODEL, INFERENCE_COMPONENT)
