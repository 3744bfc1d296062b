"""Lambda-side glue for queue batches and schedules: records in, services called, report out."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import (BatchProcessor, EventType,
                                                   process_partial_response)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib import wiring
from chalicelib.clock import iso, utcnow
from chalicelib.email_models import OffloadPointer, SendCommand
from chalicelib.errors import TransientFailure
from chalicelib.models import WebhookDelivery, address_of
from chalicelib.observability import logger, metrics
from chalicelib.send import SCHEDULE_SHARDS, SQS_MAX_DELAY, new_event

if TYPE_CHECKING:
    from chalicelib.send_worker import SendWorker


def parse_queue_item(body: str) -> SendCommand | OffloadPointer:
    data = json.loads(body)
    if "offload_key" in data:
        return OffloadPointer.model_validate(data)
    return SendCommand.model_validate(data)


def backoff_seconds(receive_count: int, base: int) -> int:
    """base, 2·base, 4·base… for the 1st, 2nd, 3rd retry; at most SQS's 15 minutes."""
    return int(min(900, base * 2 ** max(0, receive_count - 1)))


def _send_record(record: SQSRecord, worker: SendWorker) -> str:
    container = wiring.container()
    try:
        outcome = worker.process(parse_queue_item(record.body), utcnow())
    except TransientFailure:
        attempt = int(record.attributes.approximate_receive_count or 1)
        container.send_queue.retry_later(
            record.receipt_handle,
            backoff_seconds(attempt, container.settings.retry_base_seconds))
        raise
    metrics.add_metric(name=f"emails_{outcome.result}", unit="Count", value=1)
    return outcome.result


def _batch_worker(records: list[dict[str, Any]]) -> SendWorker:
    """The send worker for this batch, with one suppression read for all its recipients."""
    container = wiring.container()
    wanted: dict[str, set[str]] = {}
    for raw in records:
        try:
            item = parse_queue_item(raw["body"])
        except ValueError:
            continue  # its own record fails, alone
        if isinstance(item, SendCommand):
            wanted.setdefault(item.account_id, set()).update(
                address_of(m) for m in [*item.to, *item.cc, *item.bcc])
    if not wanted:
        return container.send_worker
    return container.send_worker.using(container.suppressions.snapshot(wanted))


def process_send_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Sends each record; only the records that failed go back to the queue."""
    worker = _batch_worker(event["Records"])

    def handle(record: SQSRecord) -> str:
        # Powertools calls this with the keyword ``record``: the name is part of the contract.
        return _send_record(record, worker)

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(event=event, record_handler=handle,
                                        processor=processor, context=context)
    failures = response.get("batchItemFailures", [])
    if failures:
        logger.warning("send batch had failures", extra={"failed": len(failures),
                                                         "records": len(event["Records"])})
    return dict(response)


def _dead_letter(record: SQSRecord) -> str:
    """Retries exhausted: the message shows ``failed`` and its content is deleted."""
    container = wiring.container()
    item = parse_queue_item(record.body)
    now = utcnow()
    moved = container.message_store.transition(
        item.account_id, item.message_id, "failed",
        new_event(item.message_id, "failed", now, reason="retries_exhausted"), now,
        from_status=("queued", "scheduled"))
    if isinstance(item, OffloadPointer):
        container.content.delete(item.offload_key)
    metrics.add_metric(name="emails_dead_lettered", unit="Count", value=1)
    return "failed" if moved else "already_final"


def process_dead_letters(event: dict[str, Any], context: Any) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=event, record_handler=_dead_letter,
                                         processor=processor, context=context))


def _webhook_record(record: SQSRecord) -> str:
    delivery = WebhookDelivery.model_validate_json(record.body)
    outcome = wiring.container().webhook_deliverer.deliver(delivery, utcnow())
    metrics.add_metric(name=f"webhooks_{outcome}", unit="Count", value=1)
    return outcome


def process_webhook_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=event, record_handler=_webhook_record,
                                         processor=processor, context=context))


def _letter_record(record: SQSRecord) -> str:
    from chalicelib.letter_models import LetterJob
    from chalicelib.physical_mail import RetryAfter
    container = wiring.container()
    try:
        outcome = container.letter_submitter.submit(LetterJob.model_validate_json(record.body),
                                                    utcnow())
    except TransientFailure as err:
        attempt = int(record.attributes.approximate_receive_count or 1)
        wait = backoff_seconds(attempt, container.settings.retry_base_seconds)
        if isinstance(err, RetryAfter) and err.seconds:
            wait = min(900, max(wait, err.seconds))
        container.letter_queue.retry_later(record.receipt_handle, wait)
        raise
    metrics.add_metric(name=f"letters_{outcome}", unit="Count", value=1)
    return outcome


def process_letter_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=event, record_handler=_letter_record,
                                         processor=processor, context=context))


def _letter_dead_letter(record: SQSRecord) -> str:
    from chalicelib.letter_models import LetterJob
    return wiring.container().letter_submitter.give_up(
        LetterJob.model_validate_json(record.body), utcnow())


def process_letter_dead_letters(event: dict[str, Any], context: Any) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=event, record_handler=_letter_dead_letter,
                                         processor=processor, context=context))


def _ses_event_record(record: SQSRecord) -> str:
    from chalicelib.errors import LetterboxError
    try:
        recorded = wiring.container().provider_events.receive_queued(record.body, utcnow())
    except LetterboxError as err:  # not ours, or not SNS: retrying cannot help
        logger.warning("ses event refused", extra={"reason": err.message})
        return "refused"
    metrics.add_metric(name="ses_events_recorded", unit="Count", value=recorded)
    return "recorded"


def process_ses_event_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=event, record_handler=_ses_event_record,
                                         processor=processor, context=context))


def poll_tracking() -> dict[str, int]:
    recorded = wiring.container().letter_tracker.poll(utcnow())
    metrics.add_metric(name="letter_events_recorded", unit="Count",
                       value=sum(recorded.values()))
    return recorded


def _sweep_letters(now: Any) -> int:
    """Letters whose send date comes within SQS's delay window go on the letter queue."""
    from chalicelib.letter_models import LetterJob
    from chalicelib.physical_mail import DUE_SHARDS
    container = wiring.container()
    queued = 0
    for shard in range(DUE_SHARDS):
        for item in container.letter_store.due(shard, iso(now + SQS_MAX_DELAY)):
            delay = max(0, int(item["due_at"]) - int(now.timestamp()))
            container.letter_queue.enqueue(LetterJob(account_id=item["account_id"],
                                                     letter_id=item["letter_id"]), delay)
            container.letter_store.enqueued(item["account_id"], item["letter_id"])
            queued += 1  # queued twice after a crash: the worker's claim sends it once
    return queued


def sweep_scheduled() -> dict[str, int]:
    """Queue scheduled messages due within SQS's 15-minute delay window, each exactly once."""
    container = wiring.container()
    now = utcnow()
    horizon = iso(now + SQS_MAX_DELAY)
    queued = 0
    for shard in range(SCHEDULE_SHARDS):
        for item in container.message_store.due_scheduled(shard, horizon):
            version = int(item.get("schedule_version", 0))
            pointer = OffloadPointer(account_id=item["account_id"],
                                     message_id=item["message_id"],
                                     offload_key=item["offload_key"], schedule_version=version)
            delay = max(0, int(item["due_at"]) - int(now.timestamp()))
            container.send_queue.enqueue(pointer, delay)
            # A crash here queues it again next sweep; the worker's claim makes that harmless.
            if container.message_store.mark_enqueued(item["account_id"], item["message_id"],
                                                     version):
                queued += 1
    metrics.add_metric(name="scheduled_queued", unit="Count", value=queued)
    letters = _sweep_letters(now) if container.settings.letter_queue_url else 0
    return {"queued": queued, "letters_queued": letters,
            "horizon_minutes": int(SQS_MAX_DELAY / timedelta(minutes=1))}


def run_purge(context: Any = None) -> dict[str, Any]:
    """The hourly purge, stopping a minute before the Lambda timeout (the next run resumes)."""
    container = wiring.container()
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    purger = container.purger(lambda: remaining is not None and remaining() < 60_000)
    report = purger.run(utcnow(), container.settings.purge_first_run_days)
    for name in ("items_deleted", "events_restamped", "objects_deleted", "accounts_erased"):
        metrics.add_metric(name=f"purge_{name}", unit="Count", value=getattr(report, name))
    logger.info("purge finished", extra=report.as_dict())
    return report.as_dict()
