"""Queue batches and schedules: each record parsed once (``sqs_batches``), one service
call, a report out. ``app.py`` hands every event source here in one line."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from chalicelib import wiring
from chalicelib.clock import iso, utcnow
from chalicelib.account_models import PrivacyJob
from chalicelib.email_models import OffloadPointer, SendCommand
from chalicelib.letter_models import LetterJob
from chalicelib.marketing_models import MarketingJob
from chalicelib.models import address_of
from chalicelib.webhook_models import WebhookDelivery
from chalicelib.observability import logger, metrics
from chalicelib.send import SCHEDULE_SHARDS
from chalicelib.sqs_batches import Backoff, consume, consume_batch
from chalicelib.vocabulary import (EMAIL_WAITING, SQS_MAX_DELAY, EmailEventType, Event,
                                   FailureReason)


def parse_queue_item(body: str) -> SendCommand | OffloadPointer:
    data = json.loads(body)
    if "offload_key" in data:
        return OffloadPointer.model_validate(data)
    return SendCommand.model_validate(data)


def _send_handler(items: list[SendCommand | OffloadPointer]
                  ) -> Callable[[SendCommand | OffloadPointer], str]:
    """The send worker for this batch, with one suppression read for all its recipients."""
    container = wiring.container()
    wanted: dict[str, set[str]] = {}
    for item in items:
        if isinstance(item, SendCommand):
            wanted.setdefault(item.account_id, set()).update(
                address_of(m) for m in [*item.to, *item.cc, *item.bcc])
    worker = container.send_worker
    if wanted:
        worker = worker.using(container.suppressions.snapshot(wanted))

    def send(item: SendCommand | OffloadPointer) -> str:
        outcome = worker.process(item, utcnow())
        metrics.add_metric(name=f"emails_{outcome.result}", unit="Count", value=1)
        return outcome.result
    return send


def process_send_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Sends each record; only the records that failed go back to the queue."""
    container = wiring.container()
    with container.counters.batched():  # one stats write per account for the whole batch
        response = consume_batch(event, context, parse_queue_item, _send_handler,
                                 Backoff(container.send_queue,
                                         container.settings.retry_base_seconds))
    failures = response.get("batchItemFailures", [])
    if failures:
        logger.warning("send batch had failures", extra={"failed": len(failures),
                                                         "records": len(event["Records"])})
    return response


def _dead_letter(item: SendCommand | OffloadPointer) -> str:
    """Retries exhausted: the message shows ``failed`` and its content is deleted."""
    container = wiring.container()
    now = utcnow()
    moved = container.message_store.transition(
        item.account_id, item.message_id, EmailEventType.FAILED,
        Event.email(item.message_id, EmailEventType.FAILED, now,
                    reason=FailureReason.RETRIES_EXHAUSTED).item(), now,
        from_status=EMAIL_WAITING)
    if isinstance(item, OffloadPointer):
        container.content.delete(item.offload_key)
    metrics.add_metric(name="emails_dead_lettered", unit="Count", value=1)
    return "failed" if moved else "already_final"


def process_dead_letters(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return consume(event, context, parse_queue_item, _dead_letter)


def _seconds_left(context: Any) -> Callable[[], float] | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return None if remaining is None else (lambda: remaining() / 1000)


def process_webhook_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Each delivery under its POST deadline; those the Lambda has no time left for go back
    on the queue, so one slow endpoint cannot time the whole batch out."""
    seconds_left = _seconds_left(context)

    def deliver(delivery: WebhookDelivery) -> str:
        outcome = wiring.container().webhook_deliverer.deliver(delivery, utcnow(), seconds_left)
        metrics.add_metric(name=f"webhooks_{outcome}", unit="Count", value=1)
        return outcome
    return consume(event, context, WebhookDelivery.model_validate_json, deliver)


def _webhook_dead_letter(delivery: WebhookDelivery) -> str:
    outcome = wiring.container().webhook_deliverer.dead_lettered(delivery, utcnow())
    metrics.add_metric(name="webhooks_dead_lettered", unit="Count", value=1)
    return outcome


def process_webhook_dead_letters(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return consume(event, context, WebhookDelivery.model_validate_json, _webhook_dead_letter)


def _submit_letter(job: LetterJob) -> str:
    outcome = wiring.container().letter_submitter.submit(job, utcnow())
    metrics.add_metric(name=f"letters_{outcome}", unit="Count", value=1)
    return outcome


def process_letter_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    container = wiring.container()
    return consume(event, context, LetterJob.model_validate_json, _submit_letter,
                   Backoff(container.letter_queue, container.settings.retry_base_seconds))


def _give_up_letter(job: LetterJob) -> str:
    return wiring.container().letter_submitter.give_up(job, utcnow())


def process_letter_dead_letters(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return consume(event, context, LetterJob.model_validate_json, _give_up_letter)


def _record_ses_event(body: str) -> str:
    from chalicelib.errors import LetterboxError
    try:
        recorded = wiring.container().provider_events.receive_queued(body, utcnow())
    except LetterboxError as err:  # not ours, or not SNS: retrying cannot help
        logger.warning("ses event refused", extra={"reason": err.message})
        return "refused"
    metrics.add_metric(name="ses_events_recorded", unit="Count", value=recorded)
    return "recorded"


def process_ses_event_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # The SNS envelope is verified (signature, topic) before it is parsed: the body goes in raw.
    with wiring.container().counters.batched():  # one stats write per account and batch
        return consume(event, context, str, _record_ses_event)


def _run_marketing(job: MarketingJob) -> str:
    """A contact import chunk or a broadcast chunk, as the key that started it."""
    from chalicelib.accounts import Principal
    container = wiring.container()
    account = container.account_store.get_account(job.account_id)
    if account is None or account.get("status") != "active":
        return "account_closed"
    kind = "IMPORT" if job.kind == "import" else "BC"
    record = container.marketing_store.get_object(job.account_id, kind, job.object_id) or {}
    principal = Principal(account_id=job.account_id, key_id=record.get("key_id") or "marketing",
                          scope="full", sending_paused=bool(account.get("sending_paused")))
    worker = container.audiences.run_import if job.kind == "import" else \
        container.broadcast_sender.run
    outcome = worker(job, principal, utcnow())
    metrics.add_metric(name=f"marketing_{job.kind}_{outcome}", unit="Count", value=1)
    return outcome


def process_marketing_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    container = wiring.container()
    return consume(event, context, MarketingJob.model_validate_json, _run_marketing,
                   Backoff(container.marketing_queue, container.settings.retry_base_seconds))
def _record_dead_ses_event(body: str) -> str:
    metrics.add_metric(name="ses_events_dead_lettered", unit="Count", value=1)
    return _record_ses_event(body)


def _give_up_marketing(job: MarketingJob) -> str:
    """A chunk that failed every retry: its import or broadcast ends ``failed``, visibly,
    instead of showing "sending" forever. What was sent stays sent (per-recipient markers)."""
    kind, running = (("IMPORT", ("queued", "processing")) if job.kind == "import"
                     else ("BC", ("scheduled", "sending")))
    failed = wiring.container().marketing_store.update_object(
        job.account_id, kind, job.object_id,
        {"status": "failed", "failed_reason": "retries_exhausted"}, running)
    metrics.add_metric(name=f"marketing_{job.kind}_failed", unit="Count", value=1)
    return "failed" if failed is not None else "already_finished"


def process_marketing_dead_letters(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return consume(event, context, MarketingJob.model_validate_json, _give_up_marketing)


def process_ses_event_dead_letters(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SES events that failed five times: one more try each (recording is idempotent); one
    that fails again stays in the dead-letter queue (14 days) for an operator, and counts."""
    return consume(event, context, str, _record_dead_ses_event)


def _run_privacy_job(job: PrivacyJob, seconds_left: Callable[[], float] | None) -> str:
    outcome = wiring.container().privacy.run_job(job, utcnow(), seconds_left or (lambda: 60.0))
    metrics.add_metric(name=f"privacy_{job.kind}_{outcome}", unit="Count", value=1)
    return outcome


def process_privacy_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Erasure jobs and index backfills: each runs until done or until the Lambda's time runs
    low, then queues itself again; a crash mid-way is resumed from the job's checkpoint when
    SQS delivers the record again."""
    seconds_left = _seconds_left(context)
    container = wiring.container()
    return consume(event, context, PrivacyJob.model_validate_json,
                   lambda job: _run_privacy_job(job, seconds_left),
                   Backoff(container.privacy_queue, container.settings.retry_base_seconds))


def _give_up_privacy_job(job: PrivacyJob) -> str:
    return wiring.container().privacy.job_failed(job, utcnow())


def process_privacy_dead_letters(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return consume(event, context, PrivacyJob.model_validate_json, _give_up_privacy_job)


# app.py's SQS handlers, by batch name: each is one line there.
SQS_BATCHES: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]] = {
    "send": process_send_batch, "send_dead_letters": process_dead_letters,
    "webhooks": process_webhook_batch, "ses_events": process_ses_event_batch,
    "webhook_dead_letters": process_webhook_dead_letters,
    "ses_event_dead_letters": process_ses_event_dead_letters,
    "letters": process_letter_batch, "letter_dead_letters": process_letter_dead_letters,
    "marketing": process_marketing_batch,
    "marketing_dead_letters": process_marketing_dead_letters,
    "privacy": process_privacy_batch, "privacy_dead_letters": process_privacy_dead_letters}


def poll_tracking() -> dict[str, int]:
    recorded = wiring.container().letter_tracker.poll(utcnow())
    metrics.add_metric(name="letter_events_recorded", unit="Count",
                       value=sum(recorded.values()))
    return recorded


def _sweep_letters(now: Any) -> int:
    """Letters whose send date comes within SQS's delay window go on the letter queue."""
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
    # SMTP credentials suspended for an earlier day's quota send again from midnight UTC.
    restored = container.smtp.restore_after_quota(now)
    return {"queued": queued, "letters_queued": letters, "smtp_restored": restored,
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
