"""/v1/templates"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.api.routes import blueprint_api
from chalicelib.api.web import Call, ERROR

if TYPE_CHECKING:
    from chalicelib.models import Deleted, TemplateOut, TemplatePage


api = blueprint_api(__name__)
TAGS = ("templates",)


@api.operation("POST", "/v1/templates", summary="Create a template (Jinja2, sandboxed)",
               body="models:TemplateCreate", responses={201: "models:TemplateOut", 409: ERROR},
               tags=TAGS,
               idempotent=True)
def create_template(call: Call) -> TemplateOut:
    return wiring.container().templates.create(call.account.account_id, call.body, utcnow())


@api.operation("GET", "/v1/templates", summary="List templates",
               responses={200: "models:TemplatePage", 422: ERROR}, tags=TAGS)
def list_templates(call: Call) -> TemplatePage:
    return wiring.container().templates.list(
        call.account.account_id, call.query_int("limit", 20, 1, 100), call.query("cursor"))


@api.operation("GET", "/v1/templates/{template_id}", summary="A template",
               responses={200: "models:TemplateOut", 404: ERROR}, tags=TAGS)
def get_template(call: Call, template_id: str) -> TemplateOut:
    return wiring.container().templates.get(call.account.account_id, template_id)


@api.operation("PATCH", "/v1/templates/{template_id}", summary="Change a template",
               body="models:TemplateUpdate", responses={200: "models:TemplateOut", 404: ERROR},
               tags=TAGS)
def update_template(call: Call, template_id: str) -> TemplateOut:
    return wiring.container().templates.update(call.account.account_id, template_id,
                                               call.body, utcnow())


@api.operation("DELETE", "/v1/templates/{template_id}", summary="Delete a template",
               responses={200: "models:Deleted", 404: ERROR}, tags=TAGS)
def delete_template(call: Call, template_id: str) -> Deleted:
    from chalicelib.models import Deleted
    wiring.container().templates.delete(call.account.account_id, template_id)
    return Deleted(id=template_id)
