"""Validation errors as the API reports them: every problem names its field. No pydantic
import here, so the HTTP edge can load without building any model."""

from __future__ import annotations

from typing import Any


class FieldError(ValueError):
    """A cross-field rule broken: names the field the caller should fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def error_fields(errors: list[Any]) -> list[dict[str, str]]:
    """pydantic errors as ``{"field", "message"}``, cross-field rules under their field."""
    details = []
    for error in errors:
        cause = (error.get("ctx") or {}).get("error")
        where = ".".join(str(p) for p in error["loc"])
        if isinstance(cause, FieldError):  # a nested model's rule: under that model's path
            field = f"{where}.{cause.field}" if where else cause.field
        else:
            field = where or "body"
        message = str(cause) if isinstance(cause, FieldError) else error["msg"]
        details.append({"field": field, "message": message})
    return details
