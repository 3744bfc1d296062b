"""An SES send whose outcome is unknown is surfaced, never repeated (issue 14 item 8)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.errors import OutcomeUnknown, RetryableFailure
from chalicelib.send_worker import CLAIM_LEASE_SECONDS
from tests.fakes import FakeMessageStore, FakeSender
from tests.unit.test_email_services import ACCOUNT, NOW, queued, worker


def _failed_reason(messages: FakeMessageStore, message_id: str) -> str:
    return str(messages.events[(ACCOUNT, message_id)][-1]["data"]["reason"])


def test_a_timed_out_send_is_failed_unknown_outcome_and_never_resent() -> None:
    """Bug caught: a read timeout (SES may have accepted the mail) retried by SQS, so the
    recipient gets it twice."""
    messages, sender = FakeMessageStore(), FakeSender()
    command = queued(messages)
    sender.fail_with = OutcomeUnknown("ses did not answer")
    assert worker(messages, sender).process(command, NOW).result == "failed"
    assert messages.status(ACCOUNT, command.message_id) == "failed"
    assert _failed_reason(messages, command.message_id) == "unknown_outcome"
    sender.fail_with = None
    later = NOW + timedelta(seconds=CLAIM_LEASE_SECONDS + 1)
    assert worker(messages, sender).process(command, later).result == "skipped"
    assert sender.sent == []


def test_a_worker_dying_mid_send_does_not_resend_after_its_lease() -> None:
    """Bug caught: a worker killed inside the SES call; its lease expires and the SQS
    redelivery claims the message again and sends it a second time."""
    messages, sender = FakeMessageStore(), FakeSender()
    command = queued(messages)
    now = int(NOW.timestamp())
    messages.claim(ACCOUNT, command.message_id, now, CLAIM_LEASE_SECONDS)
    assert messages.mark_sending(ACCOUNT, command.message_id, now + CLAIM_LEASE_SECONDS, now)
    # ... the Lambda dies here, inside send_raw ...
    later = NOW + timedelta(seconds=CLAIM_LEASE_SECONDS + 1)
    assert worker(messages, sender).process(command, later).result == "failed"
    assert sender.sent == []
    assert _failed_reason(messages, command.message_id) == "unknown_outcome"


def test_a_lapsed_claim_is_not_released_nor_sent() -> None:
    """Bug caught: an attempt whose lease ran out (and was taken by another) still calling SES,
    or releasing the other attempt's claim."""
    messages, sender = FakeMessageStore(), FakeSender()
    command = queued(messages)

    class Overtaken(FakeMessageStore):
        def mark_sending(self, account_id: str, message_id: str, lease_until: int,
                         now: int) -> bool:
            self.messages[(account_id, message_id)]["claim_until"] = lease_until + 60
            return super().mark_sending(account_id, message_id, lease_until, now)
    overtaken = Overtaken()
    overtaken.messages, overtaken.events = messages.messages, messages.events
    with pytest.raises(RetryableFailure):
        worker(overtaken, sender).process(command, NOW)
    assert sender.sent == []
    assert messages.get(ACCOUNT, command.message_id)["claim_until"], "the other's claim stays"
