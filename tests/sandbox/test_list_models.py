"""ListModels as SageMaker answers it: NameContains filters, MaxResults pages (moto answers
every model in the account at once, so each listing cost grew with the account)."""

from __future__ import annotations

import uuid
from typing import Any

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"


def _models(control: Any, prefix: str, count: int) -> set[str]:
    names = {f"{prefix}-{i}" for i in range(count)}
    for name in names:
        control.create_model(
            ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"}
        )
    return names


def test_name_contains_filters_and_max_results_pages(control: Any) -> None:
    mine = _models(control, f"mine-{uuid.uuid4().hex[:8]}", 7)
    other = _models(control, f"other-{uuid.uuid4().hex[:8]}", 3)
    prefix = next(iter(mine)).rsplit("-", 1)[0]

    pages, found, token = 0, [], None
    while True:
        page = control.list_models(
            NameContains=prefix, MaxResults=3, **({"NextToken": token} if token else {})
        )
        pages += 1
        assert len(page["Models"]) <= 3
        found += [m["ModelName"] for m in page["Models"]]
        token = page.get("NextToken")
        if not token:
            break

    assert sorted(found) == sorted(mine)
    assert pages == 3
    assert not set(found) & other
    assert all(m["ModelArn"].endswith(f"model/{m['ModelName']}") for m in page["Models"])


def test_without_max_results_a_page_holds_ten(control: Any) -> None:
    prefix = f"many-{uuid.uuid4().hex[:8]}"
    _models(control, prefix, 12)
    first = control.list_models(NameContains=prefix)
    assert len(first["Models"]) == 10
    rest = control.list_models(NameContains=prefix, NextToken=first["NextToken"])
    assert len(rest["Models"]) == 2
    assert "NextToken" not in rest
