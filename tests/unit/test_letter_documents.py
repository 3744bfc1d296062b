"""A letter sent later keeps its document until it is sent, and no label is bought for a
document that is gone (issue 14 item 12)."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.letter_models import LetterCreate
from chalicelib.retention import RULES, DataClass
from tests.unit.test_physical_mail import ADDRESS, NOW, PRINCIPAL, Letters


def _rule_for(key: str) -> DataClass:
    (data_class,) = [r.data_class for r in RULES.values()
                     if r.s3_prefix and key.startswith(r.s3_prefix)]
    return data_class


def test_a_document_outlives_its_send_date() -> None:
    """Bug caught: a letter dated 60 days ahead whose document the 7-day lifecycle rule
    deletes long before submission (after its label is paid)."""
    letters = Letters()
    for days in (0, 1, 30, 180):
        send_date = NOW + timedelta(days=days)
        letter = letters.service.create(PRINCIPAL, LetterCreate(**{
            "to": ADDRESS, "from": ADDRESS, "html": "<p>Hi</p>", "send_date": send_date}), NOW)
        key = letters.store.letters[letter.id]["document_key"]
        kept = RULES[_rule_for(key)].days
        assert kept is not None and NOW + timedelta(days=kept) > send_date + timedelta(days=3), \
            f"a letter {days} days ahead loses its document before it is sent"
    assert RULES[DataClass.LETTER_DOCUMENT].days == 7, "immediate letters keep the short clock"


def test_no_label_is_bought_for_a_document_that_is_gone() -> None:
    """Bug caught: the carrier's label bought (and paid) before the worker finds the document
    missing, then the letter retried until the dead-letter queue."""
    letters = Letters()
    letter_id = letters.create()
    letters.content.objects.clear()  # the lifecycle backstop (or an operator) removed it
    assert letters.submitter.submit(letters.job(letter_id), NOW + timedelta(minutes=10)) == \
        "document_gone"
    assert letters.carrier.orders == [] and letters.status(letter_id) == "exception"
