"""Templates: stored per account, rendered in Jinja2's sandbox at send time.

HTML is autoescaped; a missing variable is an error, never a blank; the sandbox refuses
attribute tricks that would reach Python internals.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
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


# Rendering budget, per part: a template is customer code running in the send worker.
MAX_ITERATIONS = 100_000  # loop iterations, all loops together
MAX_OUTPUT_CHARS = 2_000_000  # rendered text, and any string or list an operator builds
MAX_POWER_BITS = 4_096  # an integer ``**`` bigger than this is refused before it is computed


class _Budget:
    def __init__(self) -> None:
        self.iterations = 0


_budget: ContextVar[_Budget] = ContextVar("template_budget")


class _OverBudget(Exception):
    """The template went past its rendering budget."""


def _budgeted(iterable: Any) -> Iterator[Any]:
    """Every ``for`` loop runs through this: one shared iteration budget per render."""
    budget = _budget.get()
    for item in iterable:
        budget.iterations += 1
        if budget.iterations > MAX_ITERATIONS:
            raise _OverBudget(f"more than {MAX_ITERATIONS} loop iterations")
        yield item


def _sized(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else 0


@lru_cache(maxsize=2)
def _environment(html: bool) -> Any:
    from jinja2 import StrictUndefined, nodes
    from jinja2.sandbox import SandboxedEnvironment

    class BudgetedEnvironment(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})
        budgeted = staticmethod(_budgeted)

        def _parse(self, source: str, name: str | None, filename: str | None) -> Any:
            tree = super()._parse(source, name, filename)
            for loop in tree.find_all(nodes.For):
                loop.iter = nodes.Call(nodes.EnvironmentAttribute("budgeted"), [loop.iter],
                                       [], None, None, lineno=loop.lineno)
            return tree

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "*":
                for seq, times in ((left, right), (right, left)):
                    if _sized(seq) and isinstance(times, int) and \
                            _sized(seq) * times > MAX_OUTPUT_CHARS:
                        raise _OverBudget(f"a repetition longer than {MAX_OUTPUT_CHARS}")
            if (operator == "**" and isinstance(left, int) and isinstance(right, int)
                    and abs(left) > 1 and right * abs(left).bit_length() > MAX_POWER_BITS):
                raise _OverBudget("an integer power too large")
            return super().call_binop(context, operator, left, right)

    return BudgetedEnvironment(autoescape=html, undefined=StrictUndefined)


def _render_part(text: str, html: bool, variables: dict[str, Any]) -> str:
    token = _budget.set(_Budget())
    try:
        chunks, size = [], 0
        for chunk in _environment(html).from_string(text).generate(variables):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise _OverBudget(f"output longer than {MAX_OUTPUT_CHARS} characters")
            chunks.append(chunk)
        return "".join(chunks)
    finally:
        _budget.reset(token)


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
    """Render each part; any failure (Jinja's, the budget's, or Python's own: a division by
    zero, a type error, a recursion) is a TemplateError naming the part and the reason."""
    from jinja2 import TemplateError as JinjaError
    from jinja2 import UndefinedError
    from jinja2.exceptions import SecurityError
    rendered: dict[str, str | None] = {}
    for part in PARTS:
        text = source.get(part)
        try:
            rendered[part] = None if text is None else _render_part(text, part == "html",
                                                                    variables)
        except UndefinedError as err:
            raise TemplateError(f"missing variable in {part}: {err.message}") from err
        except SecurityError as err:
            raise TemplateError(f"{part} tried an operation the sandbox forbids") from err
        except _OverBudget as err:
            raise TemplateError(f"{part} exceeded the rendering budget: {err}") from err
        except JinjaError as err:
            raise TemplateError(f"{part} could not be rendered: {err.message}") from err
        except RecursionError as err:
            raise TemplateError(f"{part} recursed too deeply") from err
        except (MemoryError, OverflowError) as err:
            raise TemplateError(f"{part} exceeded the rendering budget: "
                                f"{type(err).__name__}") from err
        except Exception as err:  # customer code: any error at all is the template's
            raise TemplateError(f"{part} could not be rendered: {type(err).__name__}: "
                                f"{str(err)[:200]}") from err
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
