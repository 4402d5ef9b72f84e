"""What every group of sandbox settings shares: float fields, read and written as the admin
API's camelCase JSON (`creating_seconds` <-> `creatingSeconds`)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from pydantic.alias_generators import to_camel


class SettingsJson:
    """Mixed into a dataclass of float settings."""

    def update(self, data: dict[str, Any]) -> None:
        """Take the keys of `data` this group knows; ignore the others (another group's)."""
        for field in fields(self):  # type: ignore[arg-type]
            key = to_camel(field.name)
            if key in data:
                setattr(self, field.name, float(data[key]))

    def to_json(self) -> dict[str, float]:
        return {
            to_camel(field.name): float(getattr(self, field.name))
            for field in fields(self)  # type: ignore[arg-type]
        }
