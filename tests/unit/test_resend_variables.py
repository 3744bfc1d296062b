"""Resend's ``{{{name|fallback}}}`` ↔ our Jinja2 (chalicelib/resend_mapping.py): the one place
the syntax is translated, rendered through the real sandbox."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.resend_mapping import from_jinja, to_jinja
from chalicelib.templates import render


def _html(source: str, contact: dict[str, object]) -> str:
    content = render({"subject": "s", "html": source, "text": None},
                     {"contact": {"id": "ct_1", "properties": {}, **contact},
                      "unsubscribe_url": "https://x.test/u/t"})
    return content.html or ""


def test_contact_fields_fallbacks_and_properties() -> None:
    """Bug caught: a fallback ignored, a missing field raising instead of rendering empty,
    ``FIRST_NAME`` not mapped, properties looked up on the contact itself."""
    source = to_jinja("{{{FIRST_NAME|there}}} {{{contact.last_name}}} {{{contact.plan|free}}} "
                      "{{{RESEND_UNSUBSCRIBE_URL}}}", True)
    assert source is not None
    assert _html(source, {}) == "there  free https://x.test/u/t"
    assert _html(source, {"first_name": "Ann", "last_name": "Lee",
                          "properties": {"plan": "pro"}}) == "Ann Lee pro https://x.test/u/t"


def test_values_and_fallbacks_stay_escaped_and_literal_tags_stay_text() -> None:
    """Bug caught: a contact's name or a fallback injected into HTML unescaped, a fallback
    with a quote breaking out of its string, or customer text such as ``{% if %}`` or
    ``{{ 7*7 }}`` run as template code."""
    source = to_jinja('<p>{{{contact.first_name|a "b" \\ <i>}}}</p>{% if x %}{{ 7*7 }}{# c #}',
                      True)
    assert source is not None
    assert _html(source, {}) == ("<p>a &#34;b&#34; \\ &lt;i&gt;</p>"
                                 "{% if x %}{{ 7*7 }}{# c #}")
    assert _html(source, {"first_name": "<script>"}).startswith("<p>&lt;script&gt;</p>")
    braced = to_jinja("{{{{{contact.first_name|x}}}}}", True)  # a variable in literal braces
    assert braced is not None and _html(braced, {}) == "{{x}}"


def test_unknown_broadcast_variable_is_refused_and_template_names_checked() -> None:
    """Bug caught: an unknown variable sent to every recipient as literal braces."""
    with pytest.raises(ValueError, match="COUPON"):
        to_jinja("{{{COUPON}}}", True)
    assert to_jinja("{{{COUPON}}}", False) == "{{ COUPON }}", "templates take any name"
    assert to_jinja("{{{PLAN}}}", False, {"PLAN": "free"}) == '{{ PLAN | default("free") }}'


@given(st.text(max_size=60), st.text(alphabet=st.characters(blacklist_characters="}"),
                                     max_size=20))
def test_round_trip_gives_the_text_back(literal: str, fallback: str) -> None:
    """Bug caught: a broadcast read back through Broadcasts.get differing from what was
    created (literal braces mangled, fallbacks with quotes or non-ASCII altered)."""
    text = f"{literal}{{{{{{contact.first_name|{fallback}}}}}}}{literal}"
    if "{{{" in literal:
        return  # a literal holding Resend syntax is a variable, not text
    back = from_jinja(to_jinja(text, True), True)
    expected = text if fallback else text.replace("|}}}", "}}}")
    assert back == expected


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40),
       st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"),
                                      blacklist_characters="}"), max_size=20))
def test_any_literal_text_renders_as_itself(literal: str, fallback: str) -> None:
    """Bug caught: literal braces next to a variable (``{{{{{contact.first_name}}}``) or in the
    text forming a Jinja2 tag, so the broadcast fails or runs customer text as code."""
    from markupsafe import escape
    if "{{{" in literal:
        return
    text = f"{literal}{{{{{{contact.first_name|{fallback}}}}}}}{literal}"
    source = to_jinja(text, True)
    assert source is not None
    assert _html(source, {}) == f"{literal}{escape(fallback)}{literal}"
