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
    document = api.get("/v1/openapi.json").json
    documented = {(path, method.upper()) for path, ops in document["paths"].items()
                  for method in ops}
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
