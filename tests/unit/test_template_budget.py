"""Templates are customer code: any error or excess fails the email at once (issue 14 item 15)."""

from __future__ import annotations

import time

import pytest

from chalicelib.templates import TemplateError, render
from tests.fakes import FakeMessageStore, FakeSender
from tests.unit.test_email_services import ACCOUNT, NOW, worker


@pytest.mark.parametrize(("text", "reason"), [
    ("{{ 1/0 }}", "ZeroDivisionError"),
    ("{{ 1 + 'a' }}", "TypeError"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recursed"),
])
def test_python_errors_in_a_template_are_template_errors(text: str, reason: str) -> None:
    """Bug caught: only Jinja's own errors caught, so a division by zero or a recursive macro
    escapes the worker, and the message is retried for 25 minutes before failing."""
    with pytest.raises(TemplateError, match=reason):
        render({"subject": "s", "text": text}, {})


@pytest.mark.parametrize("text", [
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% for a in xs %}{% for b in xs %}{% for c in xs %}{% endfor %}{% endfor %}{% endfor %}",
    "{{ 'x' * 1000000000 }}",
    "{{ 7 ** 100000000000 }}",
    "{% for i in range(100000) %}{{ 'y' * 100 }}{% endfor %}",
])
def test_runaway_templates_stop_within_the_budget(text: str) -> None:
    """Bug caught: nested loops, string products or huge powers keeping the send worker busy
    (or out of memory) for as long as the template likes."""
    started = time.monotonic()
    with pytest.raises(TemplateError, match="budget"):
        render({"subject": "s", "text": text}, {"xs": list(range(1000))})
    assert time.monotonic() - started < 5


def test_ordinary_loops_and_products_still_render() -> None:
    """Bug caught: a budget so tight that real templates (a list of items, a rule line) fail."""
    out = render({"subject": "s", "text": "{% for i in items %}{{ i }},{% endfor %}{{ '-' * 20 }}"},
                 {"items": list(range(500))})
    assert out.text is not None and out.text.startswith("0,1,2,") and out.text.endswith("-" * 20)


def test_a_template_error_fails_the_email_at_once_with_its_reason() -> None:
    """Bug caught: a rendering crash escaping the worker as an unexpected exception (the
    record retried until the dead-letter queue) instead of ``failed`` with a reason."""
    from chalicelib.email_models import SendCommand
    messages, sender = FakeMessageStore(), FakeSender()
    messages.create({"account_id": ACCOUNT, "message_id": "em_01JTEMPLATE0000000000000000",
                     "status": "queued"}, {"type": "queued", "message_id": "x"}, NOW)
    command = SendCommand.model_validate({
        "account_id": ACCOUNT, "message_id": "em_01JTEMPLATE0000000000000000",
        "from": "news@example.com", "to": ["ana@example.net"],
        "template": {"subject": "s", "text": "{{ 1/0 }}"}, "variables": {}})
    assert worker(messages, sender).process(command, NOW).result == "failed"
    assert sender.sent == []
    reason = messages.events[(ACCOUNT, "em_01JTEMPLATE0000000000000000")][-1]["data"]["reason"]
    assert "ZeroDivisionError" in reason
