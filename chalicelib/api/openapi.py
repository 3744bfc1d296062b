"""The OpenAPI 3.1 document, generated from the declared operations and their pydantic models."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.models import ErrorBody
from chalicelib.api.web import JSON, Operation, resolve

_REF = "#/components/schemas/{model}"


def _errors_for(op: Operation) -> dict[int, type[BaseModel] | None]:
    """Every operation may answer these; declared here so the document never omits them."""
    errors: dict[int, type[BaseModel] | None] = {500: ErrorBody, 503: ErrorBody}
    if op.scope is not None:
        errors.update({401: ErrorBody, 403: ErrorBody, 429: ErrorBody})
    if op.body is not None:
        errors.update({400: ErrorBody, 413: ErrorBody, 415: ErrorBody, 422: ErrorBody})
    return errors


def responses_of(op: Operation) -> dict[int, type[BaseModel] | None]:
    return {**_errors_for(op), **{status: resolve(model) if model is not None else None
                                  for status, model in op.responses.items()}}


def body_of(op: Operation) -> type[BaseModel] | None:
    return resolve(op.body) if op.body is not None else None


def build_document(operations: list[Operation], version: str) -> dict[str, Any]:
    models: set[type[BaseModel]] = {m for op in operations for m in responses_of(op).values()
                                    if m is not None}
    bodies = {body for op in operations if (body := body_of(op)) is not None}
    models |= bodies
    ordered = sorted(models, key=lambda m: m.__name__)
    keys, schema = models_json_schema(
        [(m, "validation" if m in bodies else "serialization") for m in ordered],
        ref_template=_REF, by_alias=True)
    refs = {model: keys[(model, mode)] for (model, mode) in keys}
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        entry: dict[str, Any] = {
            "operationId": re.sub(r"\W+", "_", f"{op.method}_{op.path}").strip("_").lower(),
            "summary": op.summary,
            "tags": list(op.tags),
            "responses": {},
        }
        params = re.findall(r"{(\w+)}", op.path)
        if params:
            entry["parameters"] = [{"name": p, "in": "path", "required": True,
                                    "schema": {"type": "string"}} for p in params]
        if op.scope is not None:
            entry["security"] = [{"bearer": []}]
            entry["x-letterbox-scope"] = op.scope
        if (body := body_of(op)) is not None:
            entry["requestBody"] = {"required": True, "content": {JSON: {"schema": refs[body]}}}
        for status, model in sorted(responses_of(op).items()):
            response: dict[str, Any] = {"description": HTTPStatus(status).phrase}
            if model is not None:
                response["content"] = {JSON: {"schema": refs[model]}}
            entry["responses"][str(status)] = response
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Letterbox API", "version": version,
                 "description": "Email and physical-mail infrastructure in your own AWS."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
