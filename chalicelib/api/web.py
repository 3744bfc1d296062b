"""HTTP edge: one declaration per operation drives routing, auth, body parsing, the error
contract and the OpenAPI document, so none of them can drift from the others."""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from chalice.app import Blueprint, CaseInsensitiveMapping, Chalice, Request, Response

from chalicelib.errors import (InternalError, LetterboxError, MalformedRequest, ServiceUnavailable,
                               RetryableFailure, ValidationFailed)
from chalicelib.observability import logger

if TYPE_CHECKING:
    from pydantic import BaseModel

    from chalicelib.accounts import Principal, Scope

# Operations name their models by path ("email_models:SendEmailRequest", in chalicelib),
# so a cold start builds only the models its own request needs.
ERROR = "models:ErrorBody"


@functools.cache
def _load(ref: str) -> type[BaseModel]:
    module, _, name = ref.partition(":")
    model: type[BaseModel] = getattr(importlib.import_module(f"chalicelib.{module}"), name)
    return model


def resolve(ref: type[BaseModel] | str) -> type[BaseModel]:
    return _load(ref) if isinstance(ref, str) else ref

JSON = "application/json"
# (method, path) → handler: the OpenAPI document takes operationIds and query reads from it.
HANDLERS: dict[tuple[str, str], Callable[..., Any]] = {}
# DynamoDB stores at most 32 levels; nothing Letterbox takes needs more than a few.
MAX_JSON_DEPTH = 32
# Chalice's own error bodies ({"Code": ..., "Message": ...}) mapped into our contract.
_CHALICE_CODES = {400: "validation_error", 403: "forbidden", 404: "not_found",
                  405: "method_not_allowed", 413: "payload_too_large",
                  415: "unsupported_media_type", 429: "rate_limited", 500: "internal_error"}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    scope: Scope | None  # None: public, no API key
    body: type[BaseModel] | str | None
    responses: dict[int, type[BaseModel] | str | None]
    tags: tuple[str, ...] = ()
    idempotent: bool = False
    any_accept: bool = False  # a binary answer served whatever the request's Accept says


@dataclass
class Call:
    """What a handler gets: the caller, the parsed body and the raw request."""

    request: Request
    principal: Principal | None = None
    body: Any = None
    params: dict[str, str] = field(default_factory=dict)

    def query_int(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.query(name)
        if raw is None:
            return default
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses
        if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
            raise ValidationFailed(f"{name} must be an integer from {low} to {high}",
                                   details=[{"field": name, "message": "out of range"}])
        return int(raw)

    def query(self, name: str) -> str | None:
        params = self.request.query_params
        value = params.get(name) if params is not None else None
        return str(value) if value is not None else None

    @property
    def account(self) -> Principal:
        assert self.principal is not None, "public operations have no principal"
        return self.principal


def error_response(error: LetterboxError, headers: dict[str, str] | None = None) -> Response:
    return Response(body=error.to_body(), status_code=error.status,
                    headers={"Content-Type": JSON, **error.headers, **(headers or {})})


def accept_anything(request: Request) -> None:
    """Chalice refuses a binary body (400) unless the request's Accept names a binary type;
    mail clients and proxies often send none, or text/html. This request accepts anything."""
    request.headers = CaseInsensitiveMapping({**request.headers, "accept": "*/*"})


def body_text(request: Request) -> str:
    raw = request.raw_body or b""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


# A JSON escape of a UTF-16 surrogate: only a pair of them is text that storage can encode.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _lone_surrogates(raw: bytes, data: Any) -> bool:
    """True when the body's text cannot be encoded as UTF-8 (a lone surrogate escape)."""
    if not _SURROGATE_ESCAPE.search(raw):
        return False
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def json_depth(value: Any) -> int:
    """How deep arrays and objects nest (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (item.values() if isinstance(item, dict)
                    else item if isinstance(item, list) else None)
        if children is None:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_body(request: Request, ref: type[BaseModel] | str) -> BaseModel:
    from pydantic import ValidationError

    from chalicelib.validation import error_fields
    model = resolve(ref)
    raw = request.raw_body
    if not raw and not any(f.is_required() for f in model.model_fields.values()):
        raw = b"{}"  # nothing required: an empty body means "all defaults"
    if not raw:
        raise MalformedRequest("a JSON request body is required")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MalformedRequest(f"the request body is not valid JSON ({err})") from err
    except RecursionError as err:
        raise MalformedRequest(f"the request body nests deeper than {MAX_JSON_DEPTH} levels"
                               ) from err
    if json_depth(data) > MAX_JSON_DEPTH:
        raise MalformedRequest(f"the request body nests deeper than {MAX_JSON_DEPTH} levels")
    if _lone_surrogates(raw if isinstance(raw, bytes) else raw.encode(), data):
        raise MalformedRequest("the request body holds text that is not valid Unicode "
                               "(an unpaired \\uD800-\\uDFFF escape)")
    if not isinstance(data, dict):
        raise ValidationFailed("the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        details = error_fields(err.errors())
        first = details[0]
        raise ValidationFailed(f"{first['field']}: {first['message']}", details) from err


class Edge(Protocol):
    """What every operation passes through before its handler."""

    def authenticate(self, authorization: str | None) -> Principal: ...
    def take_request(self, principal: Principal) -> dict[str, str]: ...
    def replay_or_run(self, key: str, body: Any, compute: Callable[[], dict[str, Any]],
                      context: Any) -> dict[str, Any]: ...


class Api:
    """Registers operations on a Chalice app and remembers them for the OpenAPI document."""

    def __init__(self, app: Chalice | Blueprint, edge: Callable[[], Edge],
                 render_error: Callable[[LetterboxError, dict[str, str]], Response] | None = None
                 ) -> None:
        self.app = app  # a Blueprint for route modules; the app itself for app.py's own
        self.operations: list[Operation] = []
        self._edge = edge
        # Another wire format's error shape (the /resend surface); ours by default.
        self._render_error = render_error or (lambda err, headers: error_response(err, headers))

    def operation(self, method: str, path: str, *, summary: str,
                  responses: dict[int, type[BaseModel] | str | None],
                  scope: Scope | None = "full",
                  body: type[BaseModel] | str | None = None, tags: tuple[str, ...] = (),
                  content_types: list[str] | None = None, idempotent: bool = False,
                  any_accept: bool = False
                  ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        op = Operation(method, path, summary, scope, body, responses, tags, idempotent,
                       any_accept)
        self.operations.append(op)
        status = min(code for code in responses if code < 400)

        def decorator(handler: Callable[..., Any]) -> Callable[..., Any]:
            HANDLERS[(method, path)] = handler  # names the operation in the OpenAPI document

            def run(call: Call, params: dict[str, str]) -> dict[str, Any]:
                if op.body is not None:
                    call.body = parse_body(call.request, op.body)
                result = handler(call, **params)
                if isinstance(result, Response):
                    return {"status": result.status_code, "body": result.body,
                            "headers": dict(result.headers)}
                payload = result.model_dump(mode="json", by_alias=True) if result else None
                return {"status": status, "body": payload}

            @functools.wraps(handler)
            def view(**params: str) -> Response:
                request = self.app.current_request
                assert request is not None, "Chalice sets the request for every HTTP event"
                headers: dict[str, str] = {}
                try:
                    call = Call(request=request, params=params)
                    outcome = self._guarded(op, call, params, run, headers)
                except LetterboxError as err:
                    return self._render_error(err, {**headers, **err.headers})
                except RetryableFailure:
                    return self._render_error(
                        ServiceUnavailable("a dependency is busy; retry shortly"),
                        {**headers, "Retry-After": "1"})
                except Exception:  # never a stack trace to the caller
                    logger.exception("unhandled error", extra={"operation": op.summary})
                    return self._render_error(InternalError("an internal error occurred"),
                                              headers)
                if outcome.get("replayed"):
                    headers["Idempotent-Replayed"] = "true"
                if op.any_accept:
                    accept_anything(request)
                return Response(body=outcome["body"], status_code=outcome["status"],
                                headers={"Content-Type": JSON, **outcome.get("headers", {}),
                                         **headers})

            self.app.route(path, methods=[method],
                           content_types=content_types or [JSON])(view)
            return handler

        return decorator

    def _guarded(self, op: Operation, call: Call, params: dict[str, str],
                 run: Callable[[Call, dict[str, str]], dict[str, Any]],
                 headers: dict[str, str]) -> dict[str, Any]:
        """Auth, scope, rate limit, then the handler, once per Idempotency-Key."""
        if op.scope is None:
            return run(call, params)
        edge = self._edge()
        call.principal = edge.authenticate(call.request.headers.get("authorization"))
        call.principal.require(op.scope)
        headers.update(edge.take_request(call.principal))
        key = call.request.headers.get("idempotency-key")
        if not op.idempotent or key is None:
            return run(call, params)
        from chalicelib.idempotency import check_key
        scoped = f"{call.principal.account_id}:{op.method} {op.path}:{check_key(key)}"
        return edge.replay_or_run(scoped, {"params": params, "body": body_text(call.request)},
                                  lambda: run(call, params), self.app.lambda_context)


def json_error_middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Rewrites Chalice's own errors (405, 415, …) into the ``{"error": …}`` contract."""
    try:
        response = get_response(event)
    except Exception:
        logger.exception("unhandled error outside a handler")
        return error_response(InternalError("an internal error occurred"))
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        code = _CHALICE_CODES.get(response.status_code, "internal_error")
        message = str(body.get("Message", "request failed"))
        if response.status_code >= 500:
            message = "an internal error occurred"
        response.body = {"error": {"code": code, "message": message}}
        response.headers["Content-Type"] = JSON
    return response
