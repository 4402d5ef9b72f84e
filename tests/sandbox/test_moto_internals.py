"""The moto the sandbox is built on: the version the lock pins, every moto internal the
sandbox uses (all in serving_operator/sandbox/moto_internals.py) as the sandbox uses it, and
the attributes the overlays read on the backends `moto.backends.get_backend` returns.

A moto release that changes one of these fails here with the moto version and the name of
what changed, instead of somewhere deep in an overlay. And no sandbox module but
moto_internals.py may import a moto name outside the public surface (PUBLIC_MOTO_NAMES).
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID
from werkzeug.serving import WSGIRequestHandler

from serving_operator.sandbox import moto_internals
from serving_operator.sandbox.arns import sagemaker_arn
from tests.support.lock import installed_from, pins
from tests.support.paths import ROOT

MOTO = importlib.metadata.version("moto")
SANDBOX = ROOT / "operator" / "serving_operator" / "sandbox"
REGION = "us-east-1"

PUBLIC_MOTO_NAMES = {
    "moto.backends": {"get_backend"},
    "moto.core": {"DEFAULT_ACCOUNT_ID"},
}
"""What sandbox modules other than moto_internals.py may import from moto: the documented
way to reach a service's backend, and the default account."""


# -- the version ---------------------------------------------------------------------------
def test_installed_moto_is_the_locked_one() -> None:
    """Under `make test-latest` the lock is the newest resolution, so this passes and the
    checks below say whether the newer moto still has what the sandbox uses."""
    lock = installed_from()
    locked = pins(lock)["moto"].version
    assert locked == MOTO, (
        f"moto {MOTO} is installed, {lock.name} pins {locked}: the sandbox is known to"
        f" work with {locked}. If every check in this file passes with {MOTO}, move the lock"
        " to it (make lock UPGRADE=1)."
    )


# -- the internals, as moto_internals.py uses them ------------------------------------------
def _resolve(dotted: str) -> Any:
    """The object a dotted name names (a module, then attributes), or fail naming it."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            if not hasattr(found, attribute):
                pytest.fail(f"moto {MOTO}: {dotted} is gone ({attribute} not found)")
            found = getattr(found, attribute)
        return found
    pytest.fail(f"moto {MOTO}: {dotted} is gone (no such module)")


def _signature(dotted: str) -> inspect.Signature:
    return inspect.signature(_resolve(dotted))


def _expect_call(dotted: str, as_called: str, *args: Any, **kwargs: Any) -> None:
    """The sandbox calls `dotted` as `as_called` (with arguments like args and kwargs)."""
    signature = _signature(dotted)
    try:
        signature.bind(*args, **kwargs)
    except TypeError as error:
        pytest.fail(
            f"moto {MOTO}: {dotted}{as_called} changed to {dotted}{signature}"
            f" (the sandbox's call no longer fits: {error})"
        )


def _expect_attributes(dotted: str, instance: Any, attributes: list[str]) -> None:
    missing = [a for a in attributes if not hasattr(instance, a)]
    if missing:
        pytest.fail(f"moto {MOTO}: {dotted} has no {', '.join(missing)} any more")


def test_moto_server_app() -> None:
    _expect_call(
        "moto.moto_server.werkzeug_app.DomainDispatcherApplication",
        "(create_app)",
        _resolve("moto.moto_server.werkzeug_app.create_backend_app"),
    )
    _expect_call("moto.moto_server.werkzeug_app.create_backend_app", "(service)", "s3")
    _expect_call(
        "moto.moto_server.werkzeug_app.DomainDispatcherApplication.__call__",
        "(self, environ, start_response)",
        None,
        {},
        None,
    )
    handler = _resolve("moto.moto_server.werkzeug_app.MotoRequestHandler")
    assert issubclass(handler, WSGIRequestHandler), (
        f"moto {MOTO}: moto.moto_server.werkzeug_app.MotoRequestHandler is no longer a"
        " werkzeug WSGIRequestHandler (werkzeug's make_server takes it as request_handler)"
    )
    assert callable(moto_internals.moto_wsgi_app())


def test_account_of_access_key() -> None:
    _expect_call("moto.iam.models.get_account_id_from", "(access_key)", "AKIAEXAMPLE")
    # An access key no IAM user owns is filed under moto's default account.
    assert moto_internals.account_of_access_key("AKIANOBODYOWNSTHIS") == DEFAULT_ACCOUNT_ID


def test_protocol_parsers() -> None:
    _expect_call("moto.core.utils.get_service_model", "(service_name)", "cloudwatch")
    parsers = _resolve("moto.core.parse.PROTOCOL_PARSERS")
    for protocol in ("json", "query"):
        if protocol not in parsers:
            pytest.fail(f"moto {MOTO}: moto.core.parse.PROTOCOL_PARSERS has no {protocol!r}")
        name = f"moto.core.parse.PROTOCOL_PARSERS[{protocol!r}]"
        _expect_attributes(name, parsers[protocol], ["parse"])
    # What moto_internals.parse_request builds its parsers' input from: each protocol, for real.
    as_json = moto_internals.parse_request(
        "cloudwatch",
        "GetMetricStatistics",
        "json",
        json.dumps(
            {"Namespace": "AWS/SageMaker", "MetricName": "Invocations", "Period": 60}
        ).encode(),
        {"Content-Type": "application/x-amz-json-1.0"},
        "/",
    )
    as_query = moto_internals.parse_request(
        "cloudwatch",
        "GetMetricStatistics",
        "query",
        b"Action=GetMetricStatistics&Version=2010-08-01&Namespace=AWS%2FSageMaker"
        b"&MetricName=Invocations&Period=60",
        {"Content-Type": "application/x-www-form-urlencoded"},
        "/",
    )
    expected = {"Namespace": "AWS/SageMaker", "MetricName": "Invocations", "Period": 60}
    for protocol, parsed in (("json", as_json), ("query", as_query)):
        got = {key: parsed.get(key) for key in expected}
        assert got == expected, (
            f"moto {MOTO}: moto.core.parse.PROTOCOL_PARSERS[{protocol!r}] parses a"
            f" GetMetricStatistics request to {parsed}"
        )


def test_serializers() -> None:
    _expect_call(
        "moto.core.serialize.get_serializer_class", "(service_name, protocol)", "cloudwatch", "json"
    )
    _expect_call("moto.core.serialize.XFormedAttributePicker", "()")
    serializer = _resolve("moto.core.serialize.get_serializer_class")("cloudwatch", "json")
    _expect_call(
        f"{serializer.__module__}.{serializer.__qualname__}",
        "(operation_model, value_picker=...)",
        None,
        value_picker=None,
    )
    _expect_call(
        f"{serializer.__module__}.{serializer.__qualname__}.serialize", "(self, result)", None, {}
    )
    for protocol in ("json", "query"):
        body, status, _ = moto_internals.serialize_response(
            "cloudwatch", "GetMetricStatistics", protocol, {"Label": "Invocations"}
        )
        assert (status, "Invocations" in str(body)) == (200, True), (
            f"moto {MOTO}: moto.core.serialize.get_serializer_class('cloudwatch', {protocol!r})"
            f" answers GetMetricStatistics with {status} {body!r}"
        )


def test_service_exception() -> None:
    _expect_attributes(
        "moto.core.exceptions.ServiceException",
        _resolve("moto.core.exceptions.ServiceException"),
        ["code", "message"],
    )

    class InvalidParameterValue(moto_internals.ServiceException):
        code = "InvalidParameterValue"

    error = InvalidParameterValue("The parameter Period must be 60.")
    assert (error.code, error.message) == ("InvalidParameterValue", error.args[0]), (
        f"moto {MOTO}: moto.core.exceptions.ServiceException(message) no longer keeps the class's"
        " code and the given message"
    )
    body, status, _ = moto_internals.serialize_response(
        "cloudwatch", "GetMetricStatistics", "json", error
    )
    assert (status, "InvalidParameterValue" in str(body)) == (400, True), (
        f"moto {MOTO}: moto.core.serialize no longer answers a ServiceException with its code"
        f" ({status} {body!r})"
    )


def test_iam_policy_evaluation() -> None:
    _expect_call("moto.iam.access_control.IAMPolicy", "(policy)", "{}")
    _expect_call(
        "moto.iam.access_control.IAMPolicy.is_action_permitted", "(self, action)", None, "s3:*"
    )
    _expect_attributes(
        "moto.iam.access_control.PermissionResult",
        _resolve("moto.iam.access_control.PermissionResult"),
        ["PERMITTED", "DENIED"],
    )

    def document(effect: str) -> str:
        statement = {"Effect": effect, "Action": "sagemaker:*", "Resource": "*"}
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    decided = {
        "Allow": moto_internals.policy_effect(document("Allow"), "sagemaker:CreateEndpoint"),
        "Deny": moto_internals.policy_effect(document("Deny"), "sagemaker:CreateEndpoint"),
        "None": moto_internals.policy_effect(document("Allow"), "s3:GetObject"),
    }
    assert decided == {"Allow": "Allow", "Deny": "Deny", "None": "None"}, (
        f"moto {MOTO}: moto.iam.access_control.IAMPolicy.is_action_permitted decides {decided}"
    )


def test_metric_data() -> None:
    backend = get_backend("cloudwatch")[DEFAULT_ACCOUNT_ID][REGION]
    _expect_call(
        "moto.cloudwatch.models.CloudWatchBackend.put_metric_data",
        "(self, namespace, metric_data)",
        None,
        "AWS/SageMaker",
        [],
    )
    namespace = "Sandbox/MotoInternalsTest"
    backend.put_metric_data(
        namespace,
        [
            {"MetricName": "Single", "Value": 1.0, "Dimensions": [], "Unit": "None"},
            {
                "MetricName": "Aggregated",
                "StatisticValues": {"SampleCount": 2, "Sum": 3.0, "Minimum": 1.0, "Maximum": 2.0},
                "Dimensions": [],
                "Unit": "None",
            },
        ],
    )
    ours = {d.name: d for d in backend.metric_data if d.namespace == namespace}
    single, aggregated = ours.get("Single"), ours.get("Aggregated")
    common = ["namespace", "name", "dimensions", "unit", "timestamp"]
    assert isinstance(single, moto_internals.MetricDatum), (
        f"moto {MOTO}: moto.cloudwatch.models.MetricDatum no longer holds a datum put with a"
        f" Value (got {type(single)})"
    )
    _expect_attributes("moto.cloudwatch.models.MetricDatum", single, [*common, "value"])
    assert isinstance(aggregated, moto_internals.MetricAggregatedDatum), (
        f"moto {MOTO}: moto.cloudwatch.models.MetricAggregatedDatum no longer holds a datum put"
        f" as StatisticValues (got {type(aggregated)})"
    )
    _expect_attributes(
        "moto.cloudwatch.models.MetricAggregatedDatum",
        aggregated,
        [*common, "sample_count", "sum", "min", "max"],
    )


def test_sagemaker_endpoint() -> None:
    _expect_call(
        "moto.sagemaker.models.FakeEndpoint",
        "(account_id=, region_name=, endpoint_name=, endpoint_config_name=,"
        " production_variants=, data_capture_config=, tags=)",
        account_id=DEFAULT_ACCOUNT_ID,
        region_name=REGION,
        endpoint_name="e",
        endpoint_config_name="c",
        production_variants=[],
        data_capture_config={},
        tags=[],
    )
    endpoint = moto_internals.new_sagemaker_endpoint(DEFAULT_ACCOUNT_ID, REGION, "e", "c", [])
    _expect_attributes(
        "moto.sagemaker.models.FakeEndpoint",
        endpoint,
        ["arn", "endpoint_name", "endpoint_config_name", "endpoint_status", "production_variants"],
    )
    assert endpoint.arn == f"arn:aws:sagemaker:{REGION}:{DEFAULT_ACCOUNT_ID}:endpoint/e", (
        f"moto {MOTO}: moto.sagemaker.models.FakeEndpoint's ARN is now {endpoint.arn}"
        " (serving_operator/sandbox/arns.py writes ARNs as moto did)"
    )


def test_scalable_dimensions() -> None:
    """moto checks ScalableDimension against ScalableDimensionValueSet, read by name from its
    models and responses modules; accept_scalable_dimension swaps in an enum with one more."""
    dimension = "sagemaker:inference-component:DesiredCopyCount"
    for module in ("models", "responses"):
        enum = _resolve(f"moto.applicationautoscaling.{module}.ScalableDimensionValueSet")
        assert "sagemaker:variant:DesiredInstanceCount" in {m.value for m in enum}, (
            f"moto {MOTO}: moto.applicationautoscaling.{module}.ScalableDimensionValueSet"
            " no longer lists the scalable dimensions"
        )
    moto_internals.accept_scalable_dimension(dimension)
    moto_internals.accept_scalable_dimension(dimension)  # idempotent
    for module in ("models", "responses"):
        enum = _resolve(f"moto.applicationautoscaling.{module}.ScalableDimensionValueSet")
        assert dimension in {m.value for m in enum}
    backend = get_backend("applicationautoscaling")[DEFAULT_ACCOUNT_ID][REGION]
    target = backend.register_scalable_target(
        "sagemaker", "inference-component/ic", dimension, 0, 2, "", ""
    )
    try:
        assert (target.scalable_dimension, target.min_capacity) == (dimension, 0), (
            f"moto {MOTO}: moto.applicationautoscaling no longer registers a target with a"
            " scalable dimension added to ScalableDimensionValueSet"
        )
    finally:
        backend.deregister_scalable_target("sagemaker", "inference-component/ic", dimension)


@pytest.mark.parametrize(
    "region",
    ["us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1", "us-isob-east-1"],
)
def test_sagemaker_arns_are_written_as_moto_writes_them(region: str) -> None:
    """arns.py stands in for moto.sagemaker.utils.arn_formatter: the overlays' ARNs and those
    moto makes for the same resources must stay the same."""
    moto_arn = _resolve("moto.sagemaker.utils.arn_formatter")(
        "endpoint", "e", DEFAULT_ACCOUNT_ID, region
    )
    ours = sagemaker_arn("endpoint", "e", DEFAULT_ACCOUNT_ID, region)
    assert ours == moto_arn, f"moto {MOTO} writes {moto_arn}, arns.py {ours}"


@pytest.mark.parametrize(
    ("service", "annotation"),
    [
        ("applicationautoscaling", moto_internals.ApplicationAutoscalingBackend),
        ("iot", moto_internals.IoTBackend),
        ("sagemaker", moto_internals.SageMakerModelBackend),
    ],
)
def test_backend_classes(service: str, annotation: type) -> None:
    backend = get_backend(service)[DEFAULT_ACCOUNT_ID][REGION]
    assert isinstance(backend, annotation), (
        f"moto {MOTO}: get_backend({service!r}) now returns {type(backend).__qualname__},"
        f" not {annotation.__module__}.{annotation.__qualname__}"
    )


# -- what the overlays read and call on the backends get_backend returns ---------------------
# (service, partition or region, attributes read, methods called: name -> how, args, kwargs)
_BACKEND_USES: list[
    tuple[str, str, list[str], dict[str, tuple[str, tuple[Any, ...], dict[str, Any]]]]
] = [
    (
        "sagemaker",
        REGION,
        ["_models", "endpoints", "endpoint_configs", "compilation_jobs"],
        {
            "create_model": (
                "(model_name=, execution_role_arn=, primary_container=, vpc_config=,"
                " containers=, tags=)",
                (),
                dict.fromkeys(
                    [
                        "model_name",
                        "execution_role_arn",
                        "primary_container",
                        "vpc_config",
                        "containers",
                        "tags",
                    ]
                ),
            ),
            "create_endpoint_config": (
                "(endpoint_config_name=, production_variants=, data_capture_config=,"
                " async_inference_config=, tags=, kms_key_id=)",
                (),
                dict.fromkeys(
                    [
                        "endpoint_config_name",
                        "production_variants",
                        "data_capture_config",
                        "async_inference_config",
                        "tags",
                        "kms_key_id",
                    ]
                ),
            ),
            "create_compilation_job": (
                "(compilation_job_name=, role_arn=, output_config=, stopping_condition=,"
                " model_package_version_arn=, input_config=, vpc_config=, tags=)",
                (),
                dict.fromkeys(
                    [
                        "compilation_job_name",
                        "role_arn",
                        "output_config",
                        "stopping_condition",
                        "model_package_version_arn",
                        "input_config",
                        "vpc_config",
                        "tags",
                    ]
                ),
            ),
            "list_models": ("()", (), {}),
        },
    ),
    (
        "cloudwatch",
        REGION,
        ["alarms", "metric_data"],
        {"put_metric_data": ("(namespace, metric_data)", ("AWS/SageMaker", []), {})},
    ),
    (
        "applicationautoscaling",
        REGION,
        ["policies"],
        {
            "describe_scalable_targets": (
                "(namespace, r_ids, dimension)",
                ("sagemaker", None, "sagemaker:variant:DesiredInstanceCount"),
                {},
            )
        },
    ),
    ("iot", REGION, ["things", "thing_groups"], {}),
    (
        "iam",
        "aws",
        [],
        {
            "get_user": ("(name)", ("u",), {}),
            "get_role": ("(role_name)", ("r",), {}),
            "get_groups_for_user": ("(user_name)", ("u",), {}),
        },
    ),
    (
        "s3",
        "aws",
        ["buckets"],
        {"put_object": ("(bucket_name, key_name, value)", ("b", "k", b""), {})},
    ),
]


@pytest.mark.parametrize(
    ("service", "scope", "attributes", "methods"),
    _BACKEND_USES,
    ids=[uses[0] for uses in _BACKEND_USES],
)
def test_backend_surface(
    service: str,
    scope: str,
    attributes: list[str],
    methods: dict[str, tuple[str, tuple[Any, ...], dict[str, Any]]],
) -> None:
    backend = get_backend(service)[DEFAULT_ACCOUNT_ID][scope]
    dotted = f"{type(backend).__module__}.{type(backend).__qualname__}"
    _expect_attributes(dotted, backend, [*attributes, *methods])
    for method, (as_called, args, kwargs) in methods.items():
        _expect_call(f"{dotted}.{method}", as_called, None, *args, **kwargs)


# -- nothing else reaches for moto's internals ----------------------------------------------
def _moto_imports(source: Path) -> list[tuple[int, str, str]]:
    """(line, module, name) of every moto import in a module; name "*" for the module itself."""
    found: list[tuple[int, str, str]] = []
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, alias.name, "*")
                for alias in node.names
                if alias.name == "moto" or alias.name.startswith("moto.")
            ]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "moto" or node.module.startswith("moto."):
                found += [(node.lineno, node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and _is_dynamic_import(node.func):
            # importlib.import_module("moto...") and __import__("moto...") reach them too.
            first = node.args[0]
            if (
                isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and (first.value == "moto" or first.value.startswith("moto."))
            ):
                found.append((node.lineno, first.value, "*"))
    return sorted(found)


def _is_dynamic_import(function: ast.expr) -> bool:
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    return name in ("import_module", "__import__")


def test_only_moto_internals_imports_moto_internals() -> None:
    sources = sorted(SANDBOX.glob("*.py"))
    assert SANDBOX / "moto_internals.py" in sources
    offending = [
        f"{source.relative_to(ROOT)}:{line}: {module}.{name}"
        for source in sources
        if source.name != "moto_internals.py"
        for line, module, name in _moto_imports(source)
        if name not in PUBLIC_MOTO_NAMES.get(module, set())
    ]
    assert not offending, (
        "Only serving_operator/sandbox/moto_internals.py may use moto's internals (moto"
        " changes them in patch releases); elsewhere import from moto only"
        f" {PUBLIC_MOTO_NAMES}, or add what you need to moto_internals.py (with why, and a"
        " check in this file). Found:\n" + "\n".join(offending)
    )


def test_the_import_check_sees_an_internal(tmp_path: Path) -> None:
    module = tmp_path / "overlay.py"
    module.write_text(
        "import importlib\n"
        "from moto.backends import get_backend\n"
        "from moto.core.utils import get_service_model\n"
        "import moto.sagemaker.models\n"
        "importlib.import_module('moto.iam.models')\n"
    )
    uses = _moto_imports(module)
    internal = [u for u in uses if u[2] not in PUBLIC_MOTO_NAMES.get(u[1], set())]
    assert internal == [
        (3, "moto.core.utils", "get_service_model"),
        (4, "moto.sagemaker.models", "*"),
        (5, "moto.iam.models", "*"),
    ]
