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
