"""An email's timeline is read a page at a time (issue 14 item 19's leftover)."""

from __future__ import annotations

from datetime import timedelta

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.send import EMAIL_EVENTS_PAGE
from chalicelib.vocabulary import EmailEventType, Event


def _sent_with_opens(api, account, opens: int) -> str:
    email_id = api.post("/v1/emails", {"from": f"Acme <hi@{account.domain}>",
                                       "to": "a@example.net", "subject": "Hi", "text": "Hi"},
                        key=account.api_key).json["id"]
    start = utcnow()
    events = [Event.email(email_id, EmailEventType.OPENED, start + timedelta(seconds=i)).item()
              for i in range(opens)]
    wiring.container().message_store.record_events(account.account_id, events, start)
    return email_id


def test_an_email_with_more_events_than_a_page_is_read_a_page_at_a_time(api, account) -> None:
    """Bug caught: GET /v1/emails/{id} reading the whole timeline in one answer, so a loop
    of hits on one link made every read of that email grow without bound."""
    email_id = _sent_with_opens(api, account, EMAIL_EVENTS_PAGE + 70)
    email = api.get(f"/v1/emails/{email_id}", key=account.api_key).json
    assert len(email["events"]) == EMAIL_EVENTS_PAGE
    assert email["events_has_more"] is True and email["events_next_cursor"]
    assert email["events"][0]["type"] == "queued"  # oldest first, from the start

    seen = [e["id"] for e in email["events"]]
    cursor = email["events_next_cursor"]
    while cursor:
        page = api.get(f"/v1/emails/{email_id}/events?limit=30&cursor={cursor}",
                       key=account.api_key).json
        assert len(page["data"]) <= 30
        seen += [e["id"] for e in page["data"]]
        cursor = page["next_cursor"]
        assert page["has_more"] is (cursor is not None)
    assert len(seen) == len(set(seen)) == EMAIL_EVENTS_PAGE + 71

    whole = api.get(f"/v1/emails/{email_id}/events?limit=500", key=account.api_key).json
    assert [e["id"] for e in whole["data"]] == seen and whole["has_more"] is False


def test_a_timeline_cursor_never_reads_another_accounts_email(api, account,
                                                             other_account) -> None:
    """Bug caught: a cursor that continues any partition it names, letting one account page
    through another's events; and an unknown email answering anything but 404."""
    email_id = _sent_with_opens(api, account, EMAIL_EVENTS_PAGE + 5)
    cursor = api.get(f"/v1/emails/{email_id}", key=account.api_key).json["events_next_cursor"]
    stolen = api.get(f"/v1/emails/{email_id}/events?cursor={cursor}", key=other_account.api_key)
    assert stolen.status_code == 422 and stolen.json["error"]["details"][0]["field"] == "cursor"
    assert api.get(f"/v1/emails/{email_id}/events",
                   key=other_account.api_key).status_code == 404
    assert api.get(f"/v1/emails/{email_id}/events?cursor=9.x",
                   key=account.api_key).status_code == 422
