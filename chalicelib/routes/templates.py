"""/v1/templates"""

from __future__ import annotations

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.models import (Deleted, ErrorBody, TemplateCreate, TemplateOut, TemplatePage,
                               TemplateUpdate)
from chalicelib.routes import blueprint_api
from chalicelib.web import Call

api = blueprint_api(__name__)
TAGS = ("templates",)


@api.operation("POST", "/v1/templates", summary="Create a template (Jinja2, sandboxed)",
               body=TemplateCreate, responses={201: TemplateOut, 409: ErrorBody}, tags=TAGS,
               idempotent=True)
def create_template(call: Call) -> TemplateOut:
    return wiring.container().templates.create(call.account.account_id, call.body, utcnow())


@api.operation("GET", "/v1/templates", summary="List templates",
               responses={200: TemplatePage, 422: ErrorBody}, tags=TAGS)
def list_templates(call: Call) -> TemplatePage:
    return wiring.container().templates.list(
        call.account.account_id, call.query_int("limit", 20, 1, 100), call.query("cursor"))


@api.operation("GET", "/v1/templates/{template_id}", summary="A template",
               responses={200: TemplateOut, 404: ErrorBody}, tags=TAGS)
def get_template(call: Call, template_id: str) -> TemplateOut:
    return wiring.container().templates.get(call.account.account_id, template_id)


@api.operation("PATCH", "/v1/templates/{template_id}", summary="Change a template",
               body=TemplateUpdate, responses={200: TemplateOut, 404: ErrorBody}, tags=TAGS)
def update_template(call: Call, template_id: str) -> TemplateOut:
    return wiring.container().templates.update(call.account.account_id, template_id,
                                               call.body, utcnow())


@api.operation("DELETE", "/v1/templates/{template_id}", summary="Delete a template",
               responses={200: Deleted, 404: ErrorBody}, tags=TAGS)
def delete_template(call: Call, template_id: str) -> Deleted:
    wiring.container().templates.delete(call.account.account_id, template_id)
    return Deleted(id=template_id)
