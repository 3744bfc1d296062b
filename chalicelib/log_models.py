"""The message log's and stats' output models (SPEC §6)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from chalicelib.models import OutputModel


class EmailSummary(OutputModel):
    id: str
    from_: str = Field(alias="from")
    to: list[str]
    subject: str | None = None
    status: str
    stream: str = "transactional"
    tags: list[dict[str, str]] = Field(default_factory=list)
    created_at: str
    updated_at: str


class EmailPage(OutputModel):
    data: list[EmailSummary]
    has_more: bool
    next_cursor: str | None = None


class EventRecord(OutputModel):
    id: str
    email_id: str | None = None
    type: str
    timestamp: str
    recipient: str | None = None
    tags: list[dict[str, str]] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)


class EventPage(OutputModel):
    data: list[EventRecord]
    has_more: bool
    next_cursor: str | None = None


class StatsDay(OutputModel):
    date: str
    counts: dict[str, int]


class Stats(OutputModel):
    from_: str = Field(alias="from")
    to: str
    days: list[StatsDay]
    totals: dict[str, int]
    rates: dict[str, float | None] = Field(
        description="delivery, bounce and complaint per sent; open and click per delivered.")
