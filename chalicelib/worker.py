"""Lambda-side glue for queue batches and schedules: records in, services called, report out."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (BatchProcessor, EventType,
                                                   process_partial_response)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.models import SendCommand
from chalicelib.observability import logger, metrics
from chalicelib.retention import purge_expired


def _send_record(record: SQSRecord) -> str:
    # Powertools calls this with the keyword ``record``: the name is part of the contract.
    command = SendCommand.model_validate_json(record.body)
    outcome = wiring.container().send_worker.process(command, utcnow())
    metrics.add_metric(name=f"emails_{outcome.result}", unit="Count", value=1)
    return outcome.result


def process_send_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Sends each record; only the records that failed go back to the queue."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(event=event, record_handler=_send_record,
                                        processor=processor, context=context)
    failures = response.get("batchItemFailures", [])
    if failures:
        logger.warning("send batch had failures", extra={"failed": len(failures),
                                                         "records": len(event["Records"])})
    return dict(response)


def run_purge() -> dict[str, Any]:
    settings = wiring.container().settings
    report = purge_expired(wiring.container().table, utcnow(), settings.purge_first_run_days)
    metrics.add_metric(name="purged_items", unit="Count", value=report.items_deleted)
    logger.info("purge finished", extra=report.__dict__)
    return dict(report.__dict__)
