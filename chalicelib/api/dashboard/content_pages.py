"""What is sent and to whom not: suppressions (search, add, remove, CSV) and templates (an
editor whose preview renders in the worker's own sandbox)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from chalice.app import Response

from chalicelib.api.dashboard.frame import Visit, page
from chalicelib.api.dashboard.portal import cursor_of, model
from chalicelib.errors import LetterboxError, ValidationFailed

EXPORT_PAGES = 200  # 100 entries a page: a CSV of up to 20,000 entries


@page("/dashboard/suppressions", ("GET", "POST"), nav="Suppressions")
def suppressions(visit: Visit) -> Response:
    service = visit.services.container.suppressions
    account_id = visit.user.account_id
    if visit.request.method == "POST":
        from chalicelib.models import SuppressionCreate
        request = model(SuppressionCreate, {"email": visit.field("email").strip(),
                                            "scope": visit.field("scope") or "all"})
        service.add(account_id, request.email, "manual", request.scope, visit.now)
        return visit.redirect("/dashboard/suppressions?done=added")
    search = visit.query("search").strip()
    found = None
    if search:
        from chalicelib.models import address_of
        record = service.record_for(account_id, (address_of(search) or search).lower())
        found = service._out(record) if record else False
    listed = service.list(account_id, 20, cursor_of(visit))
    return visit.render("suppressions.html", page=listed, search=search, found=found,
                        cursor=cursor_of(visit), done=visit.query("done"))


@page("/dashboard/suppressions/remove", ("POST",))
def remove_suppression(visit: Visit) -> Response:
    visit.services.container.suppressions.remove(visit.user.account_id, visit.field("email"))
    return visit.redirect("/dashboard/suppressions?done=removed")


@page("/dashboard/suppressions/export.csv")
def export_suppressions(visit: Visit) -> Response:
    service = visit.services.container.suppressions
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "address_hash", "reason", "scope", "created_at", "message_id"])
    cursor: str | None = None
    for _ in range(EXPORT_PAGES):
        listed = service.list(visit.user.account_id, 100, cursor)
        for entry in listed.data:
            writer.writerow([_cell(entry.email or ""), entry.address_hash or "", entry.reason,
                             entry.scope, entry.created_at, entry.message_id or ""])
        cursor = listed.next_cursor
        if not cursor:
            break
    return visit.respond(out.getvalue(), 200, "text/csv; charset=utf-8", {
        "Content-Disposition": 'attachment; filename="letterbox-suppressions.csv"'})


def _cell(value: str) -> str:
    """No spreadsheet formula from an address (CSV injection)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@") else value


# Templates

@page("/dashboard/templates", nav="Templates")
def templates(visit: Visit) -> Response:
    listed = visit.services.container.templates.list(visit.user.account_id, 20,
                                                     cursor_of(visit))
    return visit.render("templates.html", page=listed, cursor=cursor_of(visit))


@page("/dashboard/templates/new", ("GET", "POST"))
def new_template(visit: Visit) -> Response:
    if visit.request.method == "GET":
        return _editor(visit, None, {"name": "", "subject": "", "html": "", "text": ""})
    return _save(visit, None)


@page("/dashboard/templates/{template_id}", ("GET", "POST"))
def edit_template(visit: Visit, template_id: str) -> Response:
    service = visit.services.container.templates
    if visit.request.method == "GET":
        found = service.get(visit.user.account_id, template_id)
        return _editor(visit, template_id, found.model_dump(), done=visit.query("done"))
    return _save(visit, template_id)


def _source(visit: Visit) -> dict[str, Any]:
    return {"name": visit.field("name").strip(), "subject": visit.field("subject"),
            "html": visit.field("html") or None, "text": visit.field("text") or None}


def _save(visit: Visit, template_id: str | None) -> Response:
    service = visit.services.container.templates
    source = _source(visit)
    if visit.field("action") == "preview":
        return _editor(visit, template_id, source, preview=True)
    if visit.field("action") == "delete" and template_id:
        service.delete(visit.user.account_id, template_id)
        return visit.redirect("/dashboard/templates")
    from chalicelib.models import TemplateCreate, TemplateUpdate
    try:
        if template_id is None:
            saved = service.create(visit.user.account_id, model(TemplateCreate, source),
                                   visit.now)
        else:
            saved = service.update(visit.user.account_id, template_id,
                                   model(TemplateUpdate, source), visit.now)
    except ValidationFailed as err:
        return _editor(visit, template_id, source, error=err.message, status=err.status)
    return visit.redirect(f"/dashboard/templates/{saved.id}?done=saved")


def render_preview(source: dict[str, Any], sample: str) -> dict[str, Any]:
    """The template rendered by the worker's own sandboxed renderer, or its error."""
    from chalicelib.templates import TemplateError, render, variables_of
    try:
        variables = json.loads(sample or "{}")
        if not isinstance(variables, dict):
            raise ValueError("not an object")
    except ValueError:
        return {"error": "Sample variables: a JSON object, such as {\"name\": \"Ada\"}."}
    try:
        names = variables_of(source)
        content = render(source, variables)
    except (TemplateError, LetterboxError) as err:
        return {"error": str(err.message if isinstance(err, LetterboxError) else err)}
    return {"subject": content.subject, "html": content.html, "text": content.text,
            "variables": names}


@page("/dashboard/templates/preview", ("POST",))
def preview_template(visit: Visit) -> Response:
    """For the editor's script: the same preview as the form's Preview button, as JSON."""
    result = render_preview(_source(visit), visit.field("sample"))
    return visit.respond(json.dumps(result), 200, "application/json")


def _editor(visit: Visit, template_id: str | None, source: dict[str, Any], *,
            preview: bool = False, error: str = "", done: str = "",
            status: int = 200) -> Response:
    sample = visit.field("sample") or "{}"
    shown = render_preview(source, sample) if preview else None
    return visit.render("template.html", status=status, template_id=template_id,
                        source=source, sample=sample, shown=shown, error=error, done=done)
