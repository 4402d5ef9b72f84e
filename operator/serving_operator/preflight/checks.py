"""Every check in order, and the subset that stops `serving-operator run` before it starts."""

from __future__ import annotations

from serving_operator import __version__
from serving_operator.preflight import aws
from serving_operator.preflight.crds import CRDS_FIX, crd_states
from serving_operator.preflight.edge import DEFAULT_ROLE_ALIAS, check_device_role
from serving_operator.preflight.kube import (
    KUBECONFIG_FIX,
    KubeApi,
    KubeApiError,
    KubeLoginError,
    KubeUnreachableError,
    login,
)
from serving_operator.preflight.rbac import RBAC_FIX, missing_permissions, required_permissions
from serving_operator.preflight.results import CheckResult, failed, passed, skipped

KUBERNETES = "Kubernetes API"
CRDS = "CRDs"
RBAC = "RBAC"
UNREACHABLE_FIX = "check the kubeconfig's server address and that the cluster is up"
LISTED_AT_MOST = 5
"""Missing permissions named on the check's line; JSON output has them all."""
REJECTED_FIX = "the cluster rejects the kubeconfig's credentials: log in again or renew them"


def connect() -> tuple[CheckResult, KubeApi | None]:
    """Log in as kopf will and ask the server its version (and, when it says, who we are)."""
    try:
        api = KubeApi(login())
        version = api.get("/version")
    except KubeLoginError as error:
        return failed(KUBERNETES, str(error), KUBECONFIG_FIX), None
    except KubeUnreachableError as error:
        return failed(KUBERNETES, str(error), UNREACHABLE_FIX), None
    except KubeApiError as error:
        fix = REJECTED_FIX if error.status == 401 else UNREACHABLE_FIX
        return failed(KUBERNETES, f"{api.server} answers {error}", fix), None
    user = _username(api)
    summary = f"{api.server}, Kubernetes {version.get('gitVersion', '?')}"
    return passed(KUBERNETES, summary + (f", as {user}" if user else ""), user=user), api


def _username(api: KubeApi) -> str | None:
    """Who the server thinks we are (SelfSubjectReview, Kubernetes 1.28+), when it says."""
    try:
        review = api.create(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
    except (KubeApiError, KubeUnreachableError):
        return None
    name = review.get("status", {}).get("userInfo", {}).get("username")
    return str(name) if name else None


def check_crds(api: KubeApi) -> CheckResult:
    try:
        states = crd_states(api)
    except KubeApiError as error:
        if error.status == 403:
            return failed(CRDS, "may not read CRDs (HTTP 403)", RBAC_FIX)
        return failed(CRDS, f"cannot read the CRDs: {error}", UNREACHABLE_FIX)
    except KubeUnreachableError as error:
        return failed(CRDS, f"cannot read the CRDs: {error}", UNREACHABLE_FIX)
    problems = [state.problem() for state in states if not state.ok]
    if problems:
        return failed(CRDS, "; ".join(problems), CRDS_FIX, crds=[s.name for s in states])
    return passed(
        CRDS,
        f"{len(states)} installed, identical to serving-operator {__version__}'s",
        crds=[s.name for s in states],
    )


def check_rbac(api: KubeApi, user: str | None, *, peering: bool = False) -> CheckResult:
    wanted = required_permissions(peering=peering)
    try:
        missing = missing_permissions(api, wanted)
    except (KubeApiError, KubeUnreachableError) as error:
        return failed(RBAC, f"cannot review permissions: {error}", RBAC_FIX)
    if missing:
        who = user or "this identity"
        named = ", ".join(str(m) for m in missing[:LISTED_AT_MOST])
        if len(missing) > LISTED_AT_MOST:
            named += f" and {len(missing) - LISTED_AT_MOST} more (-o json lists them)"
        return failed(
            RBAC,
            f"{who} lacks {len(missing)} of {len(wanted)} permissions: {named}",
            RBAC_FIX,
            missing=[str(m) for m in missing],
        )
    return passed(RBAC, f"all {len(wanted)} permissions the operator needs are granted")


def run_checks(
    *, iam: bool = False, peering: bool = False, role_alias: str = DEFAULT_ROLE_ALIAS
) -> list[CheckResult]:
    """Every check, in the order a new user fixes things (the Greengrass device role only
    when EdgeModels exist)."""
    results: list[CheckResult] = []
    kube, api = connect()
    results.append(kube)
    if api is None:
        results += [skipped(CRDS, "needs the Kubernetes API"), skipped(RBAC, "needs the API")]
    else:
        user = kube.details.get("user")
        results += [check_crds(api), check_rbac(api, user, peering=peering)]
    region = aws.check_region(aws.adopt_aws_region())
    results += [region, aws.check_endpoint()]
    credentials, identity = aws.check_credentials(region.ok)
    results.append(credentials)
    if iam:
        results.append(aws.check_iam(identity))
    if api is not None and (device := check_device_role(api, identity, role_alias)) is not None:
        results.append(device)
    return results


def fatal_startup_problems() -> list[CheckResult]:
    """What `run` cannot start without: a region, the Kubernetes API, this version's CRDs.

    AWS being unreachable is not among them: that can pass, so the operator starts and waits.
    """
    problems = []
    setting = aws.adopt_aws_region()
    if setting.region is None:  # regions that disagree are a warning, not a stop
        problems.append(aws.check_region(setting))
    kube, api = connect()
    if api is None:
        problems.append(kube)
    else:
        crds = check_crds(api)
        if not crds.ok:
            problems.append(crds)
    return problems
