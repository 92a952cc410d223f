"""What every section shares: unknown keys refused, values of the wrong TOML type named."""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator



class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _as_written(cls, value: Any, info: ValidationInfo) -> Any:
        """TOML has types; a value of another type is a mistake to name, not one to guess at:
        ``timeout_read_s = true`` is not 1.0 and ``skip_weekends = "yes"`` is not true (pydantic
        would read both). A choice's case does not matter: ``language = "ES"`` is Spanish."""
        annotation = cls.model_fields[info.field_name].annotation if info.field_name else None
        wants_number = annotation in (int, float) or annotation in (tuple[int, ...], tuple[float, ...])
        values = value if isinstance(value, (list, tuple)) else [value]
        if wants_number and any(isinstance(item, bool) for item in values):
            raise ValueError("a number, not true/false")
        if annotation is bool and not isinstance(value, bool):
            raise ValueError("true or false (without quotes)")
        choices = get_args(annotation) if get_origin(annotation) is Literal else ()
        if isinstance(value, str) and value not in choices:
            return next((choice for choice in choices if isinstance(choice, str) and choice.casefold() == value.strip().casefold()), value)
        return value
