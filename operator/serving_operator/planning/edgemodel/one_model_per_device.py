"""One model per device: refuse what would put two targets' components, or a component AWS
would refuse by name, on a device.

A Greengrass deployment goes to every core device of its thing group (child groups
included), and a device checks every component of it against its platform: one with no
manifest for the device fails the device's whole deployment ("Platform dependency
resolution", GGv2 developer guide, manage-deployments.md). Two targets in one group would
therefore either fail every device there or, when both platforms match (jetson_nano and a
LINUX/ARM64 platform are both linux/aarch64), run two models on each. Admission refuses two
targets naming one group, and several targets where one names none (CEL in the CRD); what
CEL cannot see is checked here: a device in a group of one target and in a group of another
(membership, child groups included), a spec stored before that rule that names one group
for two targets, and a default component name beyond AWS's 128 characters. A stored spec
with several targets naming no groups (admitted before the rule) is not stopped here: it
cannot be changed without naming them.
"""

from __future__ import annotations

from collections.abc import Mapping

from serving_operator.planning.edgemodel.desired import DesiredEdgeModel

TARGETS_SHARE_DEVICES = "TargetsShareDevices"
COMPONENT_NAME_TOO_LONG = "ComponentNameTooLong"
COMPONENT_NAME_LENGTH = 128
"""greengrassv2's ComponentNameString: max 128 (botocore service model)."""


def component_name_problems(desired: DesiredEdgeModel) -> list[str]:
    return [
        f"target {t.name}: component name {t.component_name!r} has"
        f" {len(t.component_name)} characters, AWS takes at most {COMPONENT_NAME_LENGTH};"
        " set spec.component.name to a shorter base name"
        for t in desired.targets
        if len(t.component_name) > COMPONENT_NAME_LENGTH
    ]


def targets_sharing_devices(
    desired: DesiredEdgeModel, members: Mapping[str, frozenset[str]] | None
) -> list[str]:
    """Why a device would get two targets' models: a group two targets name, or (with
    `members`, each group's core devices) a device in groups of two targets. Only groups a
    target names count: a target naming none is admitted only as the only target (CEL), and
    a spec stored before that rule keeps its earlier meaning (every group of the rollout)."""
    found: list[str] = []
    targets = desired.targets
    for index, first in enumerate(targets):
        for second in targets[index + 1 :]:
            shared_groups = sorted(set(first.own_groups) & set(second.own_groups))
            if shared_groups:
                found.append(
                    f"targets {first.name} and {second.name} both deploy to thing group"
                    f" {shared_groups[0]}"
                )
                continue
            if members is None:
                continue
            for group_a in first.own_groups:
                for group_b in second.own_groups:
                    shared = members.get(group_a, frozenset()) & members.get(group_b, frozenset())
                    if shared:
                        found.append(
                            f"device {min(shared)} is in thing group {group_a} (target"
                            f" {first.name}) and in {group_b} (target {second.name}): it would"
                            " get both targets' models"
                        )
                        break
                else:
                    continue
                break
    return found
