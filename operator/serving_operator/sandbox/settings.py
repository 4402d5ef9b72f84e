"""What every group of sandbox settings shares: float (or bool) fields, read and written as
the admin API's camelCase JSON (`creating_seconds` <-> `creatingSeconds`)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from pydantic.alias_generators import to_camel


class SettingsJson:
    """Mixed into a dataclass of float (or bool) settings."""

    def update(self, data: dict[str, Any]) -> None:
        """Take the keys of `data` this group knows; ignore the others (another group's)."""
        for field in fields(self):  # type: ignore[arg-type]
            key = to_camel(field.name)
            if key in data:
                setattr(self, field.name, _typed(getattr(self, field.name), data[key]))

    def to_json(self) -> dict[str, float | bool]:
        return {
            to_camel(field.name): _typed(getattr(self, field.name), getattr(self, field.name))
            for field in fields(self)  # type: ignore[arg-type]
        }


def _typed(current: Any, value: Any) -> float | bool:
    """The value in the field's own type: a bool stays a bool (JSON true/false)."""
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return value
    return float(value)
