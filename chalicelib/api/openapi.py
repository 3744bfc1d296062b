"""The OpenAPI 3.1 document, generated from the declared operations and their pydantic models."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.models import ErrorBody
from chalicelib.api.web import HANDLERS, JSON, Operation, resolve

_REF = "#/components/schemas/{model}"


def error_model(op: Operation) -> type[BaseModel]:
    """The ``/resend`` surface answers errors in Resend's shape; everything else in ours."""
    if op.path.startswith("/resend/"):
        return resolve("resend_models:ResendError")
    return ErrorBody


def _errors_for(op: Operation) -> dict[int, type[BaseModel] | None]:
    """Every operation may answer these; declared here so the document never omits them."""
    error = error_model(op)
    errors: dict[int, type[BaseModel] | None] = {500: error, 503: error}
    if op.scope is not None:
        errors.update({401: error, 403: error, 429: error})
    if op.body is not None or op.path.startswith("/resend/"):
        errors.update({400: error, 413: error, 415: error, 422: error})
    if "{" in op.path:
        errors[404] = error
    return errors


def responses_of(op: Operation) -> dict[int, type[BaseModel] | None]:
    declared = {status: resolve(model) if model is not None else None
                for status, model in op.responses.items()}
    error = error_model(op)
    declared = {status: error if model is ErrorBody else model
                for status, model in declared.items()}
    return {**_errors_for(op), **declared}


def query_parameters(handler: Callable[..., Any] | None) -> list[dict[str, Any]]:
    """The query parameters a handler reads (``call.query("x")``, ``call.query_int("x", default,
    low, high)``, or a loop over a literal tuple of names), found in its source, so the document
    lists exactly what the code reads."""
    if handler is None:
        return []
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(handler)))
    except (OSError, TypeError, SyntaxError):
        return []
    loops: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension) and isinstance(node.target, ast.Name) \
                and isinstance(node.iter, ast.Tuple):
            loops[node.target.id] = [e.value for e in node.iter.elts
                                     if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    found: dict[str, dict[str, Any]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("query", "query_int") and node.args):
            continue
        first = node.args[0]
        names = ([first.value] if isinstance(first, ast.Constant) and isinstance(first.value, str)
                 else loops.get(first.id, []) if isinstance(first, ast.Name) else [])
        schema: dict[str, Any] = {"type": "string"}
        if node.func.attr == "query_int":
            bounds = [a.value if isinstance(a, ast.Constant) else None for a in node.args[1:4]]
            schema = {"type": "integer"}
            for key, value in zip(("default", "minimum", "maximum"), bounds, strict=False):
                if isinstance(value, int):
                    schema[key] = value
        for name in names:
            found.setdefault(name, {"name": name, "in": "query", "required": False,
                                    "schema": schema})
    return list(found.values())


_RATE_HEADERS = {
    "RateLimit-Limit": "Requests allowed per second for this API key.",
    "RateLimit-Remaining": "Requests left in the current second.",
    "RateLimit-Reset": "Seconds until the window resets.",
}
_EXAMPLES: dict[str, dict[str, Any]] = {
    "SendEmailRequest": {"from": "Acme <hello@mail.acme.com>", "to": ["jane@example.com"],
                         "subject": "Welcome", "html": "<p>Hello Jane</p>",
                         "tags": [{"name": "kind", "value": "welcome"}]},
    "BatchRequest": {"emails": [{"from": "hello@mail.acme.com", "to": "jane@example.com",
                                 "subject": "Hi", "text": "Hello"}]},
    "DomainCreate": {"name": "mail.acme.com"},
    "WebhookCreate": {"url": "https://hooks.acme.com/letterbox",
                      "event_types": ["email.delivered", "email.bounced"]},
}


def _example(schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> Any:
    """A minimal valid-looking example from a JSON schema: its required fields only."""
    if "$ref" in schema:
        return _example(defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), defs, depth + 1)
    if schema.get("examples"):
        return schema["examples"][0]
    if "default" in schema:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            return _example(options[0], defs, depth + 1) if options else None
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return {}
        return {name: _example(schema["properties"][name], defs, depth + 1)
                for name in schema.get("required", []) if name in schema.get("properties", {})}
    if kind == "array":
        return [_example(schema.get("items", {}), defs, depth + 1)] if depth < 4 else []
    return {"integer": 1, "number": 1, "boolean": True}.get(str(kind), "string")


def operation_id(op: Operation) -> str:
    if (handler := HANDLERS.get((op.method, op.path))) is not None:
        return handler.__name__
    return re.sub(r"\W+", "_", f"{op.method}_{op.path}").strip("_").lower()


def body_of(op: Operation) -> type[BaseModel] | None:
    return resolve(op.body) if op.body is not None else None


def build_document(operations: list[Operation], version: str, title: str = "Letterbox API",
                   description: str = "Email and physical-mail infrastructure in your own AWS."
                   ) -> dict[str, Any]:
    models: set[type[BaseModel]] = {m for op in operations for m in responses_of(op).values()
                                    if m is not None}
    bodies = {body for op in operations if (body := body_of(op)) is not None}
    models |= bodies
    ordered = sorted(models, key=lambda m: m.__name__)
    keys, schema = models_json_schema(
        [(m, "validation" if m in bodies else "serialization") for m in ordered],
        ref_template=_REF, by_alias=True)
    refs = {model: keys[(model, mode)] for (model, mode) in keys}
    defs = schema.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for op in operations:
        name = operation_id(op)
        if name in seen:  # two modules with a handler of the same name
            name = f"{op.tags[0] if op.tags else 'op'}_{name}"
        seen.add(name)
        entry: dict[str, Any] = {
            "operationId": name,
            "summary": op.summary,
            "tags": list(op.tags),
            "responses": {},
        }
        parameters = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                      for p in re.findall(r"{(\w+)}", op.path)]
        parameters += query_parameters(HANDLERS.get((op.method, op.path)))
        if op.idempotent:
            parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                               "description": "Replays the first response for 24 hours; "
                                              "another body with the same key is a 409.",
                               "schema": {"type": "string", "minLength": 1, "maxLength": 255}})
        if parameters:
            entry["parameters"] = parameters
        if op.scope is not None:
            entry["security"] = [{"bearer": []}]
            entry["x-letterbox-scope"] = op.scope
        if (body := body_of(op)) is not None:
            example = _EXAMPLES.get(body.__name__) or _example(refs[body], defs)
            entry["requestBody"] = {"required": True, "content": {JSON: {
                "schema": refs[body], "example": example}}}
        for status, model in sorted(responses_of(op).items()):
            response: dict[str, Any] = {"description": HTTPStatus(status).phrase}
            if model is not None:
                response["content"] = {JSON: {"schema": refs[model]}}
            headers: dict[str, Any] = {}
            if op.scope is not None:
                headers.update({h: {"description": d, "schema": {"type": "integer"}}
                                for h, d in _RATE_HEADERS.items()})
            if status in (429, 503):
                headers["Retry-After"] = {"description": "Seconds to wait before retrying.",
                                          "schema": {"type": "integer"}}
            if headers:
                response["headers"] = headers
            entry["responses"][str(status)] = response
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "servers": [{"url": "/"}],
        "tags": [{"name": t} for t in sorted({t for op in operations for t in op.tags})],
        "paths": paths,
        "components": {
            "schemas": defs,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
