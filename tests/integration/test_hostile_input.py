"""Issue 14 (items 6, 16, 17, 18, 20, 21, 22): what a fuzzer and a black-box run sent, each
answered with a 4xx that names the problem, never a 500, and nothing stored left unreadable."""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.integration.test_tracking import _html, _send_tracked


def _field(response) -> str:
    return response.json["error"]["details"][0]["field"]


def _email(account, **fields) -> dict:
    return {"from": f"hi@{account.domain}", "to": "a@example.net", "subject": "s", "text": "t",
            **fields}


# Item 16: a PATCH null on a required field made every later GET /v1/templates a 500.
@pytest.mark.parametrize("field", ["name", "subject"])
def test_null_on_a_required_template_field_is_422_and_listing_stays_readable(
        api, account, field) -> None:
    created = api.post("/v1/templates", {"name": "n", "subject": "s", "html": "<p>x</p>"},
                       key=account.api_key).json
    response = api.request("PATCH", f"/v1/templates/{created['id']}", {field: None},
                           key=account.api_key)
    assert response.status_code == 422 and _field(response) == field
    listing = api.get("/v1/templates", key=account.api_key)
    assert listing.status_code == 200 and listing.json["data"][0][field] is not None


def test_null_clears_an_optional_template_part_but_not_both(api, account) -> None:
    created = api.post("/v1/templates", {"name": "n", "subject": "s", "html": "<p>x</p>",
                                         "text": "x"}, key=account.api_key).json
    path = f"/v1/templates/{created['id']}"
    assert api.request("PATCH", path, {"text": None}, key=account.api_key).json["text"] is None
    assert api.request("PATCH", path, {"html": None}, key=account.api_key).status_code == 422


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/v1/account", {"name": None}, "name"),
    ("/v1/account", {"retention": None}, "retention"),
])
def test_null_on_any_patch_required_field_is_422(api, account, path, body, field) -> None:
    response = api.request("PATCH", path, body, key=account.api_key)
    assert response.status_code == 422 and _field(response) == field


def test_patch_documents_say_required_fields_are_not_nullable(api) -> None:
    schemas = api.get("/v1/openapi.json").json["components"]["schemas"]
    template = schemas["TemplateUpdate"]["properties"]
    assert template["name"]["type"] == "string" and "anyOf" not in template["name"]
    assert {"type": "null"} in template["html"]["anyOf"]


# Item 17: each of these answered 500.
def test_json_nested_ten_thousand_deep_is_400(api, account) -> None:
    raw = '{"to": ' + "[" * 10_000 + "]" * 10_000 + "}"
    response = api.post("/v1/emails", raw=raw, key=account.api_key)
    assert response.status_code == 400 and "deeper" in response.json["error"]["message"]
    deep_variables = {"variables": json.loads("[" * 40 + "]" * 40)}
    response = api.post("/v1/emails", _email(account, **deep_variables), key=account.api_key)
    assert response.status_code == 400


@pytest.mark.parametrize("limit", ["²", "١٢", "٣", "1e3", "-1", " 5"])
def test_limit_takes_ascii_digits_only(api, account, limit) -> None:
    response = api.get(f"/v1/templates?limit={limit}", key=account.api_key)
    assert response.status_code == 422 and _field(response) == "limit"


def _cursor(key: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


@pytest.mark.parametrize("path", ["/v1/account/export", "/v1/templates", "/v1/emails",
                                  "/v1/events", "/v1/domains", "/v1/suppressions",
                                  "/v1/letters"])
def test_forged_cursors_are_422_on_every_listing(api, account, path) -> None:
    pk = f"ACCT#{account.account_id}"
    forged = [_cursor({"pk": pk}), _cursor({"pk": pk, "sk": ""}), _cursor({"pk": pk, "sk": 5}),
              _cursor({"pk": pk, "sk": "x", "gsi2pk": 1}), _cursor({"gsi2pk": pk}),
              _cursor([1]), "%%%", "é", "AAAA", _cursor({"pk": pk, "sk": "x", "extra": "y"})]
    for cursor in forged:
        response = api.get(f"{path}?cursor={cursor}", key=account.api_key)
        assert response.status_code == 422, (path, cursor, response.status_code)


def test_a_template_over_the_item_limit_is_refused(api, account) -> None:
    response = api.post("/v1/templates", {"name": "n", "subject": "s", "html": "x" * 420_000},
                        key=account.api_key)
    assert response.status_code in (413, 422) and _field(response) == "html"


def test_reply_to_is_bounded(api, account) -> None:
    many = [f"r{i}@example.net" for i in range(500)]
    response = api.post("/v1/emails", _email(account, reply_to=many), key=account.api_key)
    assert response.status_code == 422 and _field(response) == "reply_to"


@pytest.mark.parametrize("letter_id", ["ltr_x%23y", "%23", "ltr_%23%23", "ltr_%2F..%2F"])
def test_odd_letter_ids_are_404(api, account, letter_id) -> None:
    assert api.get(f"/v1/letters/{letter_id}", key=account.api_key).status_code == 404


# Item 6: headers and tags that steer SES or impersonate Letterbox's own.
@pytest.mark.parametrize("name", ["X-SES-CONFIGURATION-SET", "x-ses-message-tags",
                                  "X-SES-SOURCE-ARN", "ARC-Seal", "ARC-Message-Signature",
                                  "arc-authentication-results", "X-Letterbox-Account"])
def test_reserved_header_families_are_refused(api, account, name) -> None:
    response = api.post("/v1/emails", _email(account, headers={name: "v"}), key=account.api_key)
    assert response.status_code == 422 and _field(response) == f"headers.{name}"


@pytest.mark.parametrize("name", ["letterbox_account", "letterbox_id", "LetterBox_x"])
def test_tags_named_like_ours_are_refused(api, account, name) -> None:
    response = api.post("/v1/emails", _email(account, tags=[{"name": name, "value": "v"}]),
                        key=account.api_key)
    assert response.status_code == 422 and _field(response) == "tags.0.name"


def test_an_ordinary_custom_header_and_tag_still_pass(api, account) -> None:
    response = api.post("/v1/emails", _email(account, headers={"X-Campaign": "spring"},
                                             tags=[{"name": "campaign", "value": "x"}]),
                        key=account.api_key)
    assert response.status_code == 202


# Item 21: one string holding two addresses silently became one recipient.
@pytest.mark.parametrize("field", ["to", "cc", "bcc", "reply_to"])
@pytest.mark.parametrize("value", ["a@x.com, b@y.com", "a@x.com;b@y.com",
                                   "A <a@x.com>, b@y.com"])
def test_a_string_with_several_addresses_is_refused(api, account, field, value) -> None:
    response = api.post("/v1/emails", _email(account, **{field: value}), key=account.api_key)
    assert response.status_code == 422 and _field(response).startswith(field)


def test_a_display_name_with_a_comma_is_still_one_address(api, account) -> None:
    response = api.post("/v1/emails", _email(account, to='"Doe, Jane" <jane@example.net>'),
                        key=account.api_key)
    assert response.status_code == 202


# Item 22: verifying an address needs no recipient.
def test_address_verification_needs_no_name(api, account) -> None:
    response = api.post("/v1/addresses/verify", {"address": {
        "address_line1": "1600 pennsylvania avenue northwest", "city": "washington",
        "state": "dc", "postal_code": "20500"}}, key=account.api_key)
    assert response.status_code == 200 and response.json["deliverability"] == "deliverable"
    letter = api.post("/v1/letters", {"to": {"address_line1": "1 Main St", "city": "x"},
                                      "from": {"company": "Acme", "address_line1": "1 Main St"},
                                      "html": "<p>x</p>"}, key=account.api_key)
    assert letter.status_code == 422 and _field(letter) == "to.name"


# Item 18: the pixel answered 400 to clients that send no Accept (or a non-image one).
@pytest.mark.parametrize("accept", [None, "text/html", "application/json", "*/*", "image/*"])
def test_the_open_pixel_is_served_to_any_accept(api, account, drain, tmp_path,
                                                accept) -> None:
    _, raw = _send_tracked(api, account, drain, tmp_path, track_opens=True)
    pixel = re.search(r'src="https://api\.letterbox\.example(/t/o/[^"]+)"', _html(raw)).group(1)
    response = api.get(pixel, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif"


# Item 20: upper-case schemes were rewritten, then 404; CR/LF reached Location.
@pytest.mark.parametrize(("href", "location"), [
    ("HTTPS://Example.com/A", "https://Example.com/A"),
    ("Http://example.org/b", "http://example.org/b"),
    ("https://example.com/a&#13;&#10;Set-Cookie:x=1", "https://example.com/aSet-Cookie:x=1"),
    ("https://example.com/t&#9;ab", "https://example.com/tab"),
])
def test_click_links_redirect_with_any_scheme_case_and_no_line_breaks(
        api, account, drain, tmp_path, href, location) -> None:
    html = f'<html><body><a href="{href}">go</a></body></html>'
    _, raw = _send_tracked(api, account, drain, tmp_path, track_clicks=True, html=html)
    link = re.search(r'href="https://api\.letterbox\.example(/t/c/[^"]+)"', _html(raw))
    assert link, "the link was not rewritten"
    response = api.get(link.group(1))
    assert response.status_code == 302
    assert response.headers["location"] == location


def test_a_sealed_url_with_a_control_character_never_reaches_location(stack) -> None:
    from chalicelib import wiring
    from chalicelib.tracking.opens_clicks import Hit
    container = wiring.container()
    for url in ("https://example.com/\x00x", "https://example.com/\x1bx",
                "javascript:alert(1)", "https:example.com", "https://a/\x85"):
        token = container.tokens.seal("click", {"a": "acct", "m": "em_x", "r": None, "u": url})
        assert container.tracking.clicked(token, Hit(None, None), _now()) is None, url


def _now():
    from chalicelib.clock import utcnow
    return utcnow()


@pytest.mark.parametrize("path, body", [
    ("/v1/contact-imports", '{"csv": "email\\n\\udb65@example.com", "segment_id": null}'),
    ("/v1/templates", '{"name": "\\ud800", "subject": "s", "html": "<p>x</p>"}'),
])
def test_unpaired_surrogate_escapes_are_a_400_not_a_500(api, account, path, body) -> None:
    """Bug caught (fuzz): JSON may escape a lone UTF-16 surrogate, which no storage can
    encode; the CSV import answered 500 when it wrote the file."""
    answer = api.post(path, raw=body, key=account.api_key)
    assert answer.status_code == 400, answer.json
    assert "Unicode" in answer.json["error"]["message"]


def test_a_surrogate_pair_is_ordinary_text(api, account) -> None:
    """The check refuses only unpaired escapes: an emoji written as a pair is accepted."""
    answer = api.post("/v1/templates", raw='{"name": "\\ud83d\\ude00", "subject": "s", '
                      '"html": "<p>x</p>"}', key=account.api_key)
    assert answer.status_code == 201, answer.json


def test_a_csv_with_a_bare_carriage_return_or_an_unclosed_quote_is_not_a_500(api, account) -> None:
    """Bug caught (fuzz): csv.Error ("new-line character seen in unquoted field") escaped
    the import as a 500; a file that cannot be parsed is a 422 naming the csv field."""
    bare_cr = api.post("/v1/contact-imports", {"csv": "email\r\u00a2"}, key=account.api_key)
    assert bare_cr.status_code in (202, 422), bare_cr.json
    # An unclosed quote swallows the rest of the file into one field past csv's limit.
    unclosed = api.post("/v1/contact-imports", {"csv": "email\n\"" + "a" * 140_000},
                        key=account.api_key)
    assert unclosed.status_code == 422, unclosed.json
    assert unclosed.json["error"]["details"][0]["field"] == "csv"
