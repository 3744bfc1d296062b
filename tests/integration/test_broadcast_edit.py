"""A scheduled broadcast edited before it starts (issue 18's leftover): through
``PATCH /v1/broadcasts/{id}`` and the compose page, race-safe against the run that starts
sending (a conditional write on the status and the time it is due at)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.clock import utcnow
from tests.dashboard_support import signed_in
from tests.integration.test_marketing import broadcast, contact, outbox


def _scheduled(api: Any, account: Any, hours: float = 2, **fields: Any) -> tuple[dict, Any]:
    segment = api.post("/v1/segments", {"name": "S"}, key=account.api_key).json["id"]
    contact(api, account.api_key, "ann@example.org", segment_ids=[segment], first_name="Ann")
    made = broadcast(api, account, segment, **fields)
    due = utcnow() + timedelta(hours=hours)
    sent = api.post(f"/v1/broadcasts/{made['id']}/send", {"scheduled_at": due.isoformat()},
                    key=account.api_key)
    assert sent.status_code == 202 and sent.json["status"] == "scheduled", sent.json
    return made, due


def _runner(account: Any) -> tuple[Any, Any, Any]:
    from chalicelib import wiring
    from chalicelib.accounts import Principal
    from chalicelib.marketing_models import MarketingJob
    sender = wiring.container().broadcast_sender
    principal = Principal(account_id=account.account_id, key_id="k", scope="full")
    return sender, principal, MarketingJob


def test_patch_reschedules_a_scheduled_broadcast_and_the_old_time_sends_nothing(
        api, account, drain, tmp_path, monkeypatch) -> None:
    """Bug caught: a scheduled broadcast whose time cannot be changed (PATCH refusing or
    ignoring scheduled_at), or the queue record of the old time still sending it (early, or
    a second chain next to the new time's)."""
    from chalicelib import wiring
    made, due = _scheduled(api, account)
    queue = wiring.container().marketing_queue
    queued: list[tuple[Any, int]] = []
    real_enqueue = queue.enqueue
    monkeypatch.setattr(queue, "enqueue", lambda command, delay_seconds=0: (
        queued.append((command, delay_seconds)), real_enqueue(command, delay_seconds))[1])
    sooner = utcnow() + timedelta(minutes=30)
    changed = api.request("PATCH", f"/v1/broadcasts/{made['id']}",
                          {"scheduled_at": sooner.isoformat(), "subject": "Sooner"},
                          key=account.api_key)
    assert changed.status_code == 200, changed.json
    assert changed.json["status"] == "scheduled" and changed.json["subject"] == "Sooner"
    assert changed.json["scheduled_at"].startswith(sooner.isoformat()[:19])
    assert [(c.object_id, c.due_at) for c, _ in queued] == [(made["id"],
                                                             int(sooner.timestamp()))]
    assert 0 < queued[0][1] <= 900, "delayed toward the new time (SQS: 15 minutes at most)"
    sender, principal, job_of = _runner(account)
    old = job_of(kind="broadcast", account_id=account.account_id, object_id=made["id"],
                 due_at=int(due.timestamp()))
    assert sender.run(old, principal, due + timedelta(seconds=1)) == "rescheduled"
    new = old.model_copy(update={"due_at": int(sooner.timestamp())})
    assert sender.run(new, principal, utcnow()) == "waiting"
    assert sender.run(new, principal, sooner + timedelta(seconds=1)) == "sent"
    drain()
    assert [m["Subject"] for m in outbox(tmp_path)["ann@example.org"]] == ["Sooner"]
    late = api.request("PATCH", f"/v1/broadcasts/{made['id']}", {"subject": "Too late"},
                       key=account.api_key)
    assert late.status_code == 409 and "sending already began" in late.json["error"]["message"]


def test_bad_schedule_changes_are_clear_422s(api, account) -> None:
    """Bug caught: a draft 'scheduled' by PATCH (skipping send's checks), or a null time
    that would leave a scheduled broadcast with no time, accepted or failing as a 500."""
    made, _ = _scheduled(api, account)
    cleared = api.request("PATCH", f"/v1/broadcasts/{made['id']}", {"scheduled_at": None},
                          key=account.api_key)
    assert cleared.status_code == 422 and "scheduled_at" in cleared.json["error"]["message"]
    segment = made["segment_id"]
    draft = broadcast(api, account, segment)
    refused = api.request("PATCH", f"/v1/broadcasts/{draft['id']}",
                          {"scheduled_at": utcnow().isoformat()}, key=account.api_key)
    assert refused.status_code == 422 and "draft" in refused.json["error"]["message"]
    assert api.get(f"/v1/broadcasts/{draft['id']}", key=account.api_key).json["status"] == \
        "draft"


def test_an_edit_racing_the_start_is_either_sent_or_refused_never_lost(
        api, account, stack, drain, tmp_path, monkeypatch) -> None:
    """Bug caught: the run that starts a scheduled broadcast sending the content it read
    before an edit that landed just ahead of its start (the edit said 200 but was not what
    went out); or a reschedule landing in that gap and the old time's run sending anyway."""
    made, due = _scheduled(api, account)
    sender, principal, job_of = _runner(account)
    store = sender._store
    original = store.update_object
    edits: list[dict[str, Any]] = []

    def edit_first(account_id: str, kind: str, object_id: str, fields: dict[str, Any],
                   *args: Any, **kw: Any) -> Any:
        if fields == {"status": "sending"} and edits:
            answer = api.request("PATCH", f"/v1/broadcasts/{object_id}", edits.pop(0),
                                 key=account.api_key)
            assert answer.status_code == 200, answer.json
        return original(account_id, kind, object_id, fields, *args, **kw)
    monkeypatch.setattr(store, "update_object", edit_first)
    job = job_of(kind="broadcast", account_id=account.account_id, object_id=made["id"],
                 due_at=int(due.timestamp()))
    # A reschedule in the gap: the old time's run stops; the broadcast stays scheduled.
    later = due + timedelta(hours=1)
    edits.append({"scheduled_at": later.isoformat()})
    assert sender.run(job, principal, due + timedelta(seconds=1)) == "done"
    state = api.get(f"/v1/broadcasts/{made['id']}", key=account.api_key).json
    assert state["status"] == "scheduled" and state["stats"]["queued"] == 0
    # A content edit in the gap: the run starts with the edited content.
    edits.append({"subject": "Edited {{ contact.first_name }}"})
    job = job.model_copy(update={"due_at": int(later.timestamp())})
    assert sender.run(job, principal, later + timedelta(seconds=1)) == "sent"
    drain()
    assert [m["Subject"] for m in outbox(tmp_path)["ann@example.org"]] == ["Edited Ann"]


def test_the_compose_page_edits_and_reschedules_a_scheduled_broadcast(
        client, api, account) -> None:
    """Bug caught: a scheduled broadcast shown read-only on the page (only cancel), or a
    page edit that loses the schedule or sends it early."""
    made, due = _scheduled(api, account)
    owner = signed_in(client, account.account_id, "owner@example.com", role="owner")
    path = f"/dashboard/broadcasts/{made['id']}"
    page = owner.get(path)
    assert page.status == 200 and 'id="broadcast-scheduled"' in page.text
    assert f'type="datetime-local" value="{due.strftime("%Y-%m-%dT%H:%M")}"' in page.text
    when = (due + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    form = {"from": made["from"], "segment_id": made["segment_id"], "subject": "New subject",
            "text": "New text", "rate_per_minute": "600", "scheduled_at": when,
            "action": "save"}
    saved = owner.post(path, form)
    assert saved.status == 303 and "done=rescheduled" in saved.location
    seen = api.get(f"/v1/broadcasts/{made['id']}", key=account.api_key).json
    assert seen["status"] == "scheduled" and seen["subject"] == "New subject"
    assert seen["scheduled_at"].startswith(when)
    assert "Changes saved; the broadcast stays scheduled." in owner.get(
        saved.location.replace("http://127.0.0.1:8000", "")).text
    api.post(f"/v1/broadcasts/{made['id']}/cancel", key=account.api_key)
    refused = owner.post(path, {**form, "subject": "After cancel"})
    assert refused.status == 409 and "can no longer be changed" in refused.text
