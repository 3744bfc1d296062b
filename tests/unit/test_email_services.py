"""The email capabilities over in-memory fakes (tests/fakes.py): no moto, no table.

Each test names the bug it would catch; tests/integration runs the same paths on moto.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.accounts import Principal
from chalicelib.dkim_signing import SigningKey, generate_key_pair
from chalicelib.email_models import SendCommand, SendEmailRequest
from chalicelib.errors import RateLimited, RetryableFailure
from chalicelib.send import EmailService
from chalicelib.send_worker import SendWorker
from chalicelib.tracking.ses_events import ProviderEventService
from chalicelib.tracking.ses_mapping import normalize_ses
from chalicelib.vocabulary import EMAIL_STATUS_RANK, ENGAGEMENT, EmailEventType, Event
from tests.fakes import FakeContent, FakeMessageStore, FakeQueue, FakeSender

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ACCOUNT = "acc_1"
PRINCIPAL = Principal(account_id=ACCOUNT, key_id="key_1", scope="full")
KEY = generate_key_pair("ed25519-sha256")


class Domains:
    def get_by_name(self, account_id: str, name: str) -> dict[str, Any] | None:
        return {"status": "verified"} if name == "example.com" else None


class Quota:
    """The day's quota: ``room`` emails; what was taken and given back."""

    def __init__(self, room: int = 1_000_000) -> None:
        self.room, self.taken = room, 0

    def take_quota(self, account_id: str, count: int, now: datetime,
                   counts: dict[str, int] | None = None) -> int:
        if self.taken + count > self.room:
            raise RateLimited("the daily sending quota is reached")
        self.taken += count
        return count

    def refund(self, charge: int, count: int | None = None, counts: bool = True) -> None:
        self.taken -= charge if count is None else count


class Gate:
    def __init__(self, refusal: str | None = None) -> None:
        self.reason = refusal

    def refusal(self, account_id: str) -> str | None:
        return self.reason


class Templates:
    def source(self, account_id: str, template_id: str) -> dict[str, Any]:
        raise AssertionError("no templates here")


class Keyring:
    def signing_keys(self, account_id: str, domain: str) -> list[SigningKey]:
        return [SigningKey("lb1", KEY.algorithm, KEY.private)]

    def tracking_defaults(self, account_id: str, domain: str) -> tuple[bool, bool]:
        return False, False


class NoSuppressions:
    def suppressed(self, account_id: str, addresses: list[str], stream: str) -> set[str]:
        return set()


class Links:
    def seal(self, purpose: str, payload: dict[str, Any]) -> str:
        return "token"

    def address_hash(self, account_id: str, address: str) -> str:
        return "hash"


class Untracked:
    def instrument(self, markup: str, *args: Any) -> str:
        return markup


def email_service(messages: FakeMessageStore, queue: FakeQueue) -> EmailService:
    return EmailService(messages, Domains(), queue, FakeContent(), Quota(), Templates(),
                        offload_bytes=200_000)


def worker(messages: FakeMessageStore, sender: FakeSender) -> SendWorker:
    return SendWorker(messages, sender, Keyring(), FakeContent(), NoSuppressions(), Links(),
                      "https://mail.example.com", Untracked())


def queued(messages: FakeMessageStore) -> SendCommand:
    """One email accepted by the API side: stored ``queued``, its command on the queue."""
    queue = FakeQueue()
    accepted = email_service(messages, queue).queue_email(PRINCIPAL, SendEmailRequest(
        **{"from": "news@example.com", "to": ["ana@example.net"], "subject": "Hi",
           "text": "Hello"}), NOW)
    (command, _), = queue.sent
    assert isinstance(command, SendCommand) and command.message_id == accepted.id
    return command


def test_a_batch_accepts_the_good_items_and_reports_each_bad_one() -> None:
    """Bug caught: one invalid item, an unverified domain or a refused queue entry failing
    the whole batch, or a refused one left ``queued`` forever."""
    messages, queue = FakeMessageStore(), FakeQueue()
    queue.refuse = {1}  # SQS refuses the second of the items that reach the queue
    good = {"from": "a@example.com", "to": ["x@example.net"], "subject": "s", "text": "t"}
    result = email_service(messages, queue).queue_batch(PRINCIPAL, [
        good, {"from": "a@example.com"}, {**good, "from": "a@unverified.org"}, good, good], NOW)
    by_index = {r.index: r for r in result.data}
    assert (result.accepted, result.rejected) == (2, 3)
    assert by_index[1].error["code"] == "validation_error"
    assert by_index[2].error["code"] == "domain_not_verified"
    assert by_index[3].error["code"] == "service_unavailable"
    assert by_index[0].id and by_index[4].id and len(queue.sent) == 2
    refused = next(m for m in messages.messages.values() if m["message_id"] not in
                   (by_index[0].id, by_index[4].id))
    assert refused["status"] == "failed"
    assert messages.events[(ACCOUNT, refused["message_id"])][-1]["data"] == {
        "reason": "queue_unavailable"}


def test_a_claimed_message_is_sent_once_and_a_redelivery_sends_nothing() -> None:
    """Bug caught: SQS's at-least-once delivery sending the same email twice."""
    messages, sender = FakeMessageStore(), FakeSender()
    command = queued(messages)
    assert worker(messages, sender).process(command, NOW).result == "sent"
    assert worker(messages, sender).process(command, NOW).result == "skipped"
    assert len(sender.sent) == 1
    assert messages.status(ACCOUNT, command.message_id) == "sent"
    types = [e["type"] for e in messages.events[(ACCOUNT, command.message_id)]]
    assert types == ["queued", "sent"]


def test_a_message_another_attempt_holds_is_retried_not_sent() -> None:
    """Bug caught: two workers racing on one message (the claim is the only guard)."""
    messages, sender = FakeMessageStore(), FakeSender()
    command = queued(messages)
    messages.claim(ACCOUNT, command.message_id, int(NOW.timestamp()), 900)
    with pytest.raises(RetryableFailure):
        worker(messages, sender).process(command, NOW)
    assert sender.sent == [] and messages.status(ACCOUNT, command.message_id) == "queued"


def test_ses_throttling_gives_the_claim_back_for_the_retry() -> None:
    """Bug caught: a throttled send keeping its claim, so the retry finds it busy for 15
    minutes (or the message stuck ``queued``)."""
    messages, sender = FakeMessageStore(), FakeSender()
    command = queued(messages)
    sender.fail_with = RetryableFailure("ses Throttling")
    with pytest.raises(RetryableFailure):
        worker(messages, sender).process(command, NOW)
    assert "claim_until" not in messages.get(ACCOUNT, command.message_id)
    sender.fail_with = None
    assert worker(messages, sender).process(command, NOW).result == "sent"


def test_sent_but_not_recorded_is_acknowledged_not_retried() -> None:
    """Bug caught: a table hiccup after SES accepted the message making SQS retry it, so
    the recipient gets it twice."""
    messages, sender = FakeMessageStore(), FakeSender()
    command = queued(messages)
    messages.fail_transitions = RetryableFailure("dynamodb ThrottlingException")
    outcome = worker(messages, sender).process(command, NOW)
    assert outcome.result == "sent_unrecorded" and len(sender.sent) == 1


def _ses(kind: str, **detail: Any) -> dict[str, Any]:
    mail = {"messageId": "ses-1", "timestamp": "2026-03-02T09:00:01.000Z",
            "destination": ["ana@example.net"],
            "tags": {"letterbox_id": [MESSAGE_ID], "letterbox_account": [ACCOUNT]}}
    key = {"Delivery": "delivery", "Bounce": "bounce", "Open": "open"}[kind]
    return {"eventType": kind, "mail": mail, key: {"timestamp": "2026-03-02T09:00:05Z",
                                                   **detail}}


MESSAGE_ID = "em_01TEST"


class Suppressions:
    def __init__(self) -> None:
        self.added: list[tuple[str, str]] = []

    def add(self, account_id: str, address: str, reason: str, *args: Any) -> None:
        self.added.append((address, reason))


def provider_events(messages: FakeMessageStore,
                    suppressions: Suppressions) -> ProviderEventService:
    return ProviderEventService(verifier=None, messages=messages,  # type: ignore[arg-type]
                                suppressions=suppressions,  # type: ignore[arg-type]
                                subscriptions=None)  # type: ignore[arg-type]


def test_status_only_moves_forward_and_engagement_never_moves_it() -> None:
    """Bug caught: a late ``delivered`` overwriting ``bounced``, or an open turning a
    bounced message back into ``opened``; a redelivered SNS notification counted twice."""
    messages, suppressions = FakeMessageStore(), Suppressions()
    messages.create({"account_id": ACCOUNT, "message_id": MESSAGE_ID, "status": "sent"},
                     Event.email(MESSAGE_ID, EmailEventType.SENT, NOW).item(), NOW)
    service = provider_events(messages, suppressions)
    bounce = normalize_ses(_ses("Bounce", bounceType="Permanent", bounceSubType="General",
                                bouncedRecipients=[{"emailAddress": "ana@example.net"}]))[0]
    assert service.record(bounce, "sns-1/0", NOW) == 1
    assert service.record(bounce, "sns-1/0", NOW) == 0  # SNS delivered it twice
    for kind, seed in (("Delivery", "sns-2/0"), ("Open", "sns-3/0")):
        event = normalize_ses(_ses(kind, recipients=["ana@example.net"]))[0]
        assert service.record(event, seed, NOW) == 1
    assert messages.status(ACCOUNT, MESSAGE_ID) == "bounced"
    assert set(suppressions.added) == {("ana@example.net", "bounce")}
    assert [e["type"] for e in messages.events[(ACCOUNT, MESSAGE_ID)]][1:] == [
        "bounced", "delivered", "opened"]


def test_the_rank_orders_the_delivery_story_and_covers_every_status() -> None:
    """Bug caught: a status with no rank (a KeyError in the store) or ranks out of order."""
    statuses = [t for t in EmailEventType if t not in ENGAGEMENT]
    assert set(EMAIL_STATUS_RANK) == set(statuses)
    story = ["scheduled", "queued", "sent", "deferred", "delivered", "bounced", "complained"]
    assert [EMAIL_STATUS_RANK[s] for s in story] == sorted(EMAIL_STATUS_RANK[s] for s in story)
    assert len({EMAIL_STATUS_RANK[s] for s in story}) == len(story)


def test_an_unknown_ses_event_is_kept_as_unknown_and_moves_nothing() -> None:
    """Bug caught: a new SES event type raising (and the whole batch retried forever)."""
    (event,) = normalize_ses({"eventType": "Something New", "mail": {"destination": ["a@b.c"]}})
    assert event.type is EmailEventType.UNKNOWN and event.details["ses_type"] == "Something New"
    assert EmailEventType.UNKNOWN in ENGAGEMENT


def test_scheduled_emails_wait_for_the_sweep_beyond_the_queue_delay() -> None:
    """Bug caught: an email scheduled days ahead handed to SQS, which delays 15 min at most."""
    messages, queue = FakeMessageStore(), FakeQueue()
    request = SendEmailRequest(**{"from": "a@example.com", "to": ["x@example.net"],
                                  "subject": "s", "text": "t",
                                  "scheduled_at": NOW + timedelta(days=2)})
    accepted = email_service(messages, queue).queue_email(PRINCIPAL, request, NOW)
    assert accepted.status == "scheduled" and queue.sent == []
    assert messages.get(ACCOUNT, accepted.id)["gsi1pk"].startswith("SCHEDULED#")


def _scheduled(messages: FakeMessageStore, content: FakeContent, quota: Quota,
               count: int) -> list[Any]:
    """``count`` emails scheduled 10 minutes ahead: their queue records (pointers to S3)."""
    queue = FakeQueue()
    service = EmailService(messages, Domains(), queue, content, quota, Templates(),
                           offload_bytes=200_000)
    request = SendEmailRequest(**{"from": "a@example.com", "to": ["x@example.net"],
                                  "subject": "s", "text": "t",
                                  "scheduled_at": NOW + timedelta(minutes=10)})
    for _ in range(count):
        assert service.queue_email(PRINCIPAL, request, NOW).status == "scheduled"
    return [command for command, _ in queue.sent]


def _gated_worker(messages: FakeMessageStore, sender: FakeSender, content: FakeContent,
                  gate: Gate, quota: Quota) -> SendWorker:
    return SendWorker(messages, sender, Keyring(), content, NoSuppressions(), Links(),
                      "https://mail.example.com", Untracked(), gate=gate, quota=quota)


def test_scheduled_mail_of_an_account_paused_since_is_not_sent() -> None:
    """Bug caught (issue 14 #9): pause and closure were checked only at acceptance, so mail
    scheduled before a pause still went out."""
    messages, sender, content, quota = FakeMessageStore(), FakeSender(), FakeContent(), Quota()
    (pointer,) = _scheduled(messages, content, quota, 1)
    due = NOW + timedelta(minutes=11)
    outcome = _gated_worker(messages, sender, content, Gate("account_paused"), quota).process(
        pointer, due)
    assert outcome.result == "failed" and sender.sent == []
    events = messages.events[(ACCOUNT, pointer.message_id)]
    assert events[-1]["type"] == "failed" and events[-1]["data"] == {"reason": "account_paused"}
    assert content.objects == {}, "the scheduled content is deleted with it"


def test_scheduled_mail_takes_the_quota_of_the_day_it_is_sent() -> None:
    """Bug caught (issue 14 #9): 30 days of scheduled mail could book the quota in a minute
    (and a scheduled email never counted against the day it went out)."""
    messages, sender, content, quota = FakeMessageStore(), FakeSender(), FakeContent(), Quota(1)
    pointers = _scheduled(messages, content, quota, 3)
    assert quota.taken == 0, "scheduling reserves nothing"
    send = _gated_worker(messages, sender, content, Gate(), quota)
    due = NOW + timedelta(minutes=11)
    assert [send.process(p, due).result for p in pointers] == ["sent", "failed", "failed"]
    assert quota.taken == 1 and len(sender.sent) == 1
    last = messages.events[(ACCOUNT, pointers[1].message_id)][-1]
    assert last["data"] == {"reason": "quota_exceeded"}


def test_immediate_mail_is_charged_once_at_acceptance() -> None:
    """Bug caught: the worker charging the quota again for mail the API already charged."""
    messages, sender, quota = FakeMessageStore(), FakeSender(), Quota()
    queue = FakeQueue()
    EmailService(messages, Domains(), queue, FakeContent(), quota, Templates(),
                 offload_bytes=200_000).queue_email(PRINCIPAL, SendEmailRequest(
                     **{"from": "a@example.com", "to": ["x@example.net"], "subject": "s",
                        "text": "t"}), NOW)
    (command, _), = queue.sent
    result = _gated_worker(messages, sender, FakeContent(), Gate(), quota).process(command, NOW)
    assert result.result == "sent" and quota.taken == 1


def test_a_suppression_that_failed_after_the_bounce_was_recorded_is_not_lost() -> None:
    """Bug caught (issue 14 item 10): the bounce event recorded, then ``suppressions.add``
    failing; SNS's retry sees the event as already recorded and stops, so the address that
    hard-bounced is never suppressed."""
    messages = FakeMessageStore()
    messages.create({"account_id": ACCOUNT, "message_id": MESSAGE_ID, "status": "sent"},
                    Event.email(MESSAGE_ID, EmailEventType.SENT, NOW).item(), NOW)

    class FlakySuppressions(Suppressions):
        fail = True

        def add(self, account_id: str, address: str, reason: str, *args: Any) -> None:
            if self.fail:
                self.fail = False
                raise RetryableFailure("dynamodb ThrottlingException")
            super().add(account_id, address, reason, *args)

    suppressions = FlakySuppressions()
    service = provider_events(messages, suppressions)
    bounce = normalize_ses(_ses("Bounce", bounceType="Permanent", bounceSubType="General",
                                bouncedRecipients=[{"emailAddress": "ana@example.net"}]))[0]
    with pytest.raises(RetryableFailure):
        service.record(bounce, "sns-1/0", NOW)
    service.record(bounce, "sns-1/0", NOW)  # SNS (or the events queue) tries again
    assert suppressions.added == [("ana@example.net", "bounce")]
    assert [e["type"] for e in messages.events[(ACCOUNT, MESSAGE_ID)]].count("bounced") == 1
