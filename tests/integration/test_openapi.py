"""The OpenAPI document is generated from the operations and must describe every route.

Every integration test's response is also checked against it (tests/conftest.py ApiClient).
"""

from __future__ import annotations

from openapi_spec_validator import validate

import app as app_module


def test_served_document_is_valid_openapi_31(api) -> None:
    response = api.get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_route_is_documented_and_nothing_else(api) -> None:
    """Bug caught: a route (here or under /resend) that no OpenAPI document describes."""
    documented = {(path, method.upper())
                  for url in ("/v1/openapi.json", "/resend/openapi.json")
                  for path, ops in api.get(url).json["paths"].items() for method in ops}
    # The portal's HTML pages (/dashboard) are not API operations.
    routed = {(path, method) for path, methods in app_module.app.routes.items()
              for method in methods if not path.startswith("/dashboard")}
    assert routed == documented


def test_every_operation_documents_its_errors(api) -> None:
    document = api.get("/v1/openapi.json").json
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert "500" in op["responses"], (method, path)
            if "security" in op:
                assert {"401", "403"} <= set(op["responses"]), (method, path)
            if "requestBody" in op:
                assert {"400", "415", "422"} <= set(op["responses"]), (method, path)


def test_request_schema_uses_the_wire_names(api) -> None:
    document = api.get("/v1/openapi.json").json
    schema = document["components"]["schemas"]["SendEmailRequest"]
    assert "from" in schema["properties"] and "from_" not in schema["properties"]
    assert "from" in schema["required"]
    assert schema.get("additionalProperties") is False


def test_resend_document_is_valid_and_uses_resends_error_shape(api) -> None:
    """Bug caught: the /resend document describing errors as ``{"error": …}``, which is not
    what that surface answers (``{"statusCode", "name", "message"}``)."""
    document = api.get("/resend/openapi.json").json
    validate(document)
    send = document["paths"]["/resend/emails"]["post"]
    error = send["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
    assert error.endswith("/ResendError")
    assert set(document["components"]["schemas"]["ResendError"]["properties"]) == {
        "statusCode", "name", "message"}
    assert not any(p.startswith("/v1/") for p in document["paths"])


def test_query_parameters_are_documented_from_what_handlers_read(api) -> None:
    """Bug caught: list endpoints whose filters and paging (``limit``, ``cursor``, ``status``…)
    generators never see, because the document listed path parameters only."""
    document = api.get("/v1/openapi.json").json
    emails = {p["name"]: p for p in document["paths"]["/v1/emails"]["get"]["parameters"]}
    assert {"status", "recipient", "tag", "from", "to", "limit", "cursor"} <= set(emails)
    assert emails["limit"]["schema"] == {"type": "integer", "default": 20, "minimum": 1,
                                         "maximum": 100}
    assert all(p["in"] == "query" for p in emails.values())


def test_idempotency_rate_limit_and_retry_after_are_documented(api) -> None:
    """Bug caught: the ``Idempotency-Key`` header and ``RateLimit-*``/``Retry-After`` headers
    working on the wire but absent from the document."""
    document = api.get("/v1/openapi.json").json
    send = document["paths"]["/v1/emails"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header"
               for p in send["parameters"])
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(
        send["responses"]["202"]["headers"])
    assert "Retry-After" in send["responses"]["429"]["headers"]
    assert "Retry-After" in send["responses"]["503"]["headers"]


def test_operation_ids_are_readable_and_unique_and_bodies_have_examples(api) -> None:
    """Bug caught: ids like ``get__v1_emails`` that generators turn into unreadable method
    names, duplicate ids, or request bodies without an example."""
    ids = []
    for url in ("/v1/openapi.json", "/resend/openapi.json"):
        document = api.get(url).json
        operations = [op for ops in document["paths"].values() for op in ops.values()]
        names = [op["operationId"] for op in operations]
        assert len(names) == len(set(names)), url
        ids += names
        for op in operations:
            if "requestBody" in op:
                assert "example" in op["requestBody"]["content"]["application/json"], op
    assert {"send_email", "list_emails", "create_domain"} <= set(ids)
    assert not any("__" in name or name.startswith(("get_v1", "post_v1")) for name in ids)
    tags = {t["name"] for t in api.get("/v1/openapi.json").json["tags"]}
    assert {"emails", "domains", "webhooks"} <= tags
