"""The error contract of SPEC §2: JSON errors that name the problem, never a 500."""

from __future__ import annotations

import pytest

GOOD = {"to": "a@example.net", "subject": "s", "text": "t"}


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.body
    assert response.headers["content-type"].startswith("application/json")
    assert set(response.json) == {"error"}
    assert response.json["error"]["code"] == code
    return response.json["error"]


def test_malformed_json_is_400(api, account) -> None:
    error = _error(api.post("/v1/emails", raw="{not json", key=account.api_key),
                   400, "validation_error")
    assert "not valid JSON" in error["message"]


def test_non_object_body_is_422(api, account) -> None:
    _error(api.post("/v1/emails", raw="[1, 2]", key=account.api_key), 422, "validation_error")


def test_empty_body_is_400(api, account) -> None:
    _error(api.post("/v1/emails", raw="", key=account.api_key), 400, "validation_error")


@pytest.mark.parametrize(("body", "field"), [
    ({"to": "a@example.net", "subject": "s", "text": "t"}, "from"),
    ({"from": "not-an-address", "to": "a@example.net", "subject": "s", "text": "t"}, "from"),
    ({"from": "x@letterbox.example.com", "to": ["nope"], "subject": "s", "text": "t"}, "to.0"),
    ({"from": "x@letterbox.example.com", "to": [], "subject": "s", "text": "t"}, "to"),
    ({"from": "x@letterbox.example.com", "to": "a@example.net", "text": "t"}, "subject"),
    ({"from": "x@letterbox.example.com", "to": "a@example.net", "subject": "s",
      "text": "t", "colour": "red"}, "colour"),
    ({"from": "x@letterbox.example.com", "to": "a@example.net", "subject": 5, "text": "t"},
     "subject"),
])
def test_validation_errors_name_the_field(api, account, body, field) -> None:
    error = _error(api.post("/v1/emails", body, key=account.api_key), 422, "validation_error")
    assert field in [d["field"] for d in error["details"]]
    assert error["message"].startswith(error["details"][0]["field"])


def test_header_injection_in_subject_is_refused(api, account) -> None:
    body = {"from": f"x@{account.domain}", "to": "a@example.net",
            "subject": "hi\r\nBcc: victim@example.net", "text": "t"}
    _error(api.post("/v1/emails", body, key=account.api_key), 422, "validation_error")


def test_more_than_fifty_recipients_is_refused(api, account) -> None:
    body = {"from": f"x@{account.domain}", "to": [f"r{i}@example.net" for i in range(40)],
            "bcc": [f"b{i}@example.net" for i in range(11)], "subject": "s", "text": "t"}
    error = _error(api.post("/v1/emails", body, key=account.api_key), 422, "validation_error")
    assert "50 recipients" in error["message"]


def test_neither_html_nor_text_is_refused(api, account) -> None:
    body = {"from": f"x@{account.domain}", "to": "a@example.net", "subject": "s"}
    error = _error(api.post("/v1/emails", body, key=account.api_key), 422, "validation_error")
    assert "html or text" in error["message"]


def test_wrong_method_is_405(api, account) -> None:
    _error(api.request("DELETE", "/v1/emails/em_01ARZ3NDEKTSV4RRFFQ69G5FAV",
                       key=account.api_key), 405, "method_not_allowed")


def test_wrong_content_type_is_415(api, account) -> None:
    response = api.post("/v1/emails", raw="from=x", key=account.api_key,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    _error(response, 415, "unsupported_media_type")


def test_unexpected_failure_is_a_json_500_without_a_trace(api, account, monkeypatch) -> None:
    from chalicelib import wiring

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(wiring.container().emails, "queue_email", explode)
    response = api.post("/v1/emails", {"from": f"x@{account.domain}", **GOOD},
                        key=account.api_key)
    error = _error(response, 500, "internal_error")
    assert "secret internals" not in response.body.decode()
    assert "Traceback" not in response.body.decode()
    assert error["message"] == "an internal error occurred"
