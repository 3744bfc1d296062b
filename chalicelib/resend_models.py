"""Response shapes of the ``/resend/…`` surface, for its OpenAPI document (Resend's own)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from chalicelib.models import OutputModel


class ResendError(OutputModel):
    """Resend's error body; ``name`` is what its SDKs map to exception classes."""

    statusCode: int  # Resend's field name
    name: str = Field(description="validation_error, missing_api_key, invalid_api_key, "
                                  "restricted_api_key, not_found, rate_limit_exceeded, …")
    message: str


class ResendId(OutputModel):
    id: str


class ResendObject(OutputModel):
    """A Resend object (``object`` names its kind: email, domain, api_key, webhook)."""

    model_config = ConfigDict(extra="allow")
    id: str
    object: str | None = None


class ResendBatch(OutputModel):
    data: list[ResendId]
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Permissive mode: the refused emails, by index.")


class ResendList(OutputModel):
    object: str = "list"
    has_more: bool
    data: list[dict[str, Any]]
    next_cursor: str | None = Field(default=None, description="Pass back as ?after=.")
