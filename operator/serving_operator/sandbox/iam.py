"""IAM's policy simulator (SimulatePrincipalPolicy), which moto lacks, over moto's IAM state.

Decides each action the way IAM does for identity policies: an explicit Deny in any of the
principal's policies wins, else any Allow, else an implicit deny. Users' inline, attached and
group policies count, and roles' inline and attached ones; resources, conditions, permission
boundaries and SCPs are not modelled (the operator's check simulates on any resource).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from moto.backends import get_backend
from werkzeug.wrappers import Response

from serving_operator.sandbox.moto_internals import policy_effect
from serving_operator.sandbox.wire import AwsRequest

_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"


def _policies_of(arn: str) -> list[Any] | None:
    """The identity policies of a user or role ARN, or None when there is no such principal."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[2] != "iam":
        return None
    partition, account, resource = parts[1], parts[4], parts[5]
    kind, _, rest = resource.partition("/")
    name = rest.rsplit("/", 1)[-1]
    backend = get_backend("iam")[account][partition]
    try:
        if kind == "user":
            user = backend.get_user(name)
            policies: list[Any] = [*user.policies.values(), *user.managed_policies.values()]
            for group in backend.get_groups_for_user(name):
                policies += [*group.policies.values(), *group.managed_policies.values()]
            return policies
        if kind == "role":
            role = backend.get_role(name)
            return [*role.policies.values(), *role.managed_policies.values()]
    except Exception:  # moto raises its own not-found errors, one class per entity
        return None
    return None


def decide(policies: list[Any], action: str) -> str:
    effects = [policy_effect(p, action) for p in policies]
    if "Deny" in effects:
        return "explicitDeny"
    if "Allow" in effects:
        return "allowed"
    return "implicitDeny"


def _error(code: str, message: str, status: int) -> Response:
    body = (
        f'<ErrorResponse xmlns="{_NAMESPACE}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return Response(body, status=status, content_type="text/xml")


def simulate_principal_policy(call: AwsRequest) -> Response:
    params = parse_qs(call.body.decode(errors="replace"))
    source = params.get("PolicySourceArn", [""])[0]
    numbered = {
        int(key.rsplit(".", 1)[-1]): values[0]
        for key, values in params.items()
        if key.startswith("ActionNames.member.")
    }
    actions = [numbered[n] for n in sorted(numbered)]
    policies = _policies_of(source)
    if policies is None:
        return _error("NoSuchEntity", f"The principal {source} cannot be found.", 404)
    members = "".join(
        f"<member><EvalActionName>{escape(action)}</EvalActionName>"
        "<EvalResourceName>*</EvalResourceName>"
        f"<EvalDecision>{decide(policies, action)}</EvalDecision>"
        "<MatchedStatements/><MissingContextValues/></member>"
        for action in actions
    )
    body = (
        f'<SimulatePrincipalPolicyResponse xmlns="{_NAMESPACE}">'
        "<SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated>"
        f"<EvaluationResults>{members}</EvaluationResults></SimulatePrincipalPolicyResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</SimulatePrincipalPolicyResponse>"
    )
    return Response(body, status=200, content_type="text/xml")
