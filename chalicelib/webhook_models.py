"""Customer webhooks' models (SPEC §6): the API's endpoints and attempts, and the webhook
queue's delivery command."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.models import InputModel, OutputModel, PatchModel
from chalicelib.vocabulary import WEBHOOK_EVENT_TYPES

# Subscribable event types: one list, in the event vocabulary (the dashboard reads it too).
EVENT_TYPES = WEBHOOK_EVENT_TYPES


class WebhookCreate(InputModel):
    url: str = Field(max_length=2048, description="https URL (local mode: http://127.0.0.1)")
    event_types: list[str] = Field(default_factory=lambda: ["*"],
                                   description="Event types to receive, or ['*'].")
    description: str | None = Field(default=None, max_length=200)


class WebhookUpdate(PatchModel):
    NULLABLE = frozenset({"description"})

    url: str | None = Field(default=None, max_length=2048)
    event_types: list[str] | None = None
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = Field(default=None, description="true re-enables a disabled one.")


class WebhookOut(OutputModel):
    id: str
    url: str
    event_types: list[str]
    description: str | None = None
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None = None
    created_at: str


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description="whsec_…: shown once; verify signatures with it.")


class WebhookList(OutputModel):
    data: list[WebhookOut]


class WebhookAttemptOut(OutputModel):
    id: str
    event_id: str
    attempt: int
    status_code: int | None = None
    ok: bool
    error: str | None = None
    duration_ms: int
    timestamp: str


class WebhookAttemptList(OutputModel):
    data: list[WebhookAttemptOut]


class WebhookDelivery(BaseModel):
    """On the webhook queue: one event for one endpoint, and which try this is."""

    model_config = ConfigDict(extra="forbid")

    account_id: str
    webhook_id: str
    event_id: str
    payload: dict[str, Any]
    attempt: int = 1
    due_at: int = 0
