"""Log lines never carry an email address, whoever logs it."""

from __future__ import annotations

import io
import json
import logging

from chalicelib.observability import logger, mask_addresses


def test_addresses_are_masked_in_message_and_fields() -> None:
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(logger.registered_formatter)  # the formatter production uses
    logger.addHandler(capture)
    try:
        logger.info("sending to jane.doe@example.com",
                    extra={"recipients": ["Bob <bob@corp.example.org>"], "n": 1})
    finally:
        logger.removeHandler(capture)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert "jane.doe@" not in json.dumps(line) and "bob@" not in json.dumps(line)
    assert line["message"] == "sending to j***@example.com"
    assert line["recipients"] == ["Bob <b***@corp.example.org>"]


def test_masking_leaves_other_text_alone() -> None:
    assert mask_addresses("em_01ARZ3 queued at 12:00 @home") == "em_01ARZ3 queued at 12:00 @home"


def test_postal_addresses_are_masked_by_field_and_by_shape() -> None:
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(logger.registered_formatter)
    logger.addHandler(capture)
    try:
        logger.info("carrier refused 1600 Pennsylvania Avenue NW for ltr_1",
                    extra={"to": {"name": "Jane Roe", "address_line1": "221 Baker St",
                                  "address_city": "Springfield", "address_zip": "62704"},
                           "streetLines": ["742 Evergreen Terrace"], "status": 400})
    finally:
        logger.removeHandler(capture)
    text = stream.getvalue().strip().splitlines()[-1]
    for secret in ("1600 Pennsylvania", "221 Baker", "Springfield", "62704", "742 Evergreen",
                   "Jane Roe"):
        assert secret not in text
    line = json.loads(text)
    assert line["message"] == "carrier refused [street] NW for ltr_1"
    assert line["status"] == 400 and line["to"]["address_line1"] == "***"
