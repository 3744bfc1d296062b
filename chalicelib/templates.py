"""Templates: stored per account, rendered in Jinja2's sandbox at send time.

HTML is autoescaped; a missing variable is an error, never a blank; the sandbox refuses
attribute tricks that would reach Python internals.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from chalicelib.clock import iso
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.ids import has_prefix, new_id
from chalicelib.mime import Content
from chalicelib.models import TemplateCreate, TemplateOut, TemplatePage, TemplateUpdate

PARTS = ("subject", "html", "text")


class TemplateError(Exception):
    """The template cannot be rendered with these variables."""


class TemplateStore(Protocol):
    def put(self, account_id: str, record: dict[str, Any]) -> None: ...
    def get(self, account_id: str, template_id: str) -> dict[str, Any] | None: ...
    def delete(self, account_id: str, template_id: str) -> None: ...
    def page(self, account_id: str, limit: int,
             cursor: str | None) -> tuple[list[dict[str, Any]], str | None]: ...


@lru_cache(maxsize=2)
def _environment(html: bool) -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment
    return SandboxedEnvironment(autoescape=html, undefined=StrictUndefined)


def variables_of(source: dict[str, str | None]) -> list[str]:
    """Every variable the parts use; raises ValidationFailed on a syntax error."""
    from jinja2 import TemplateSyntaxError, meta
    names: set[str] = set()
    for part in PARTS:
        text = source.get(part)
        if text is None:
            continue
        try:
            names |= meta.find_undeclared_variables(_environment(part == "html").parse(text))
        except TemplateSyntaxError as err:
            raise ValidationFailed(f"{part}: template syntax error on line {err.lineno}: "
                                   f"{err.message}", details=[{"field": part}]) from err
    return sorted(names)


def render(source: dict[str, str | None], variables: dict[str, Any]) -> Content:
    from jinja2 import TemplateError as JinjaError
    from jinja2 import UndefinedError
    from jinja2.exceptions import SecurityError
    rendered: dict[str, str | None] = {}
    for part in PARTS:
        text = source.get(part)
        try:
            rendered[part] = (None if text is None else
                              _environment(part == "html").from_string(text).render(variables))
        except UndefinedError as err:
            raise TemplateError(f"missing variable in {part}: {err.message}") from err
        except SecurityError as err:
            raise TemplateError(f"{part} tried an operation the sandbox forbids") from err
        except JinjaError as err:
            raise TemplateError(f"{part} could not be rendered: {err.message}") from err
    subject = (rendered["subject"] or "").replace("\r", " ").replace("\n", " ").strip()
    return Content(subject=subject, html=rendered["html"], text=rendered["text"])


class TemplateService:
    def __init__(self, store: TemplateStore) -> None:
        self._store = store

    def create(self, account_id: str, request: TemplateCreate, now: datetime) -> TemplateOut:
        source = request.model_dump()
        if request.html is None and request.text is None:
            raise ValidationFailed("one of html or text is required",
                                   details=[{"field": "html"}])
        record = {"template_id": new_id("tpl"), **source, "created_at": iso(now),
                  "updated_at": iso(now)}
        record["variables"] = variables_of(record)
        self._store.put(account_id, record)
        return TemplateOut(id=record["template_id"], **{k: record[k] for k in (
            "name", "subject", "html", "text", "variables", "created_at", "updated_at")})

    def source(self, account_id: str, template_id: str) -> dict[str, Any]:
        record = (self._store.get(account_id, template_id)
                  if has_prefix(template_id, "tpl") else None)
        if record is None:
            raise NotFound(f"no template {template_id}")
        return record

    def get(self, account_id: str, template_id: str) -> TemplateOut:
        return self._out(self.source(account_id, template_id))

    def update(self, account_id: str, template_id: str, request: TemplateUpdate,
               now: datetime) -> TemplateOut:
        record = {**self.source(account_id, template_id),
                  **request.model_dump(exclude_unset=True), "updated_at": iso(now)}
        if record.get("html") is None and record.get("text") is None:
            raise ValidationFailed("one of html or text is required",
                                   details=[{"field": "html"}])
        record["variables"] = variables_of(record)
        self._store.put(account_id, record)
        return self._out(record)

    def delete(self, account_id: str, template_id: str) -> None:
        self.source(account_id, template_id)
        self._store.delete(account_id, template_id)

    def list(self, account_id: str, limit: int, cursor: str | None) -> TemplatePage:
        items, next_cursor = self._store.page(account_id, limit, cursor)
        return TemplatePage(data=[self._out(i) for i in items], has_more=next_cursor is not None,
                            next_cursor=next_cursor)

    @staticmethod
    def _out(record: dict[str, Any]) -> TemplateOut:
        return TemplateOut(id=record["template_id"], name=record["name"],
                           subject=record["subject"], html=record.get("html"),
                           text=record.get("text"), variables=record.get("variables", []),
                           created_at=record["created_at"], updated_at=record["updated_at"])
