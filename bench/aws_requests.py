"""AWS requests per accepted email on the happy path, counted under moto: the API call, the
send worker (with SES) and the SES events coming back (send, delivery) through the real
handlers. Steady state: one warm-up email first, as a warm Lambda has its caches."""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# What Lambda's SQS event source does for us per batch (receive + delete), billed as SQS.
ESM_REQUESTS_PER_BATCH = 2


def _ses_event(kind: str, email_id: str, account_id: str) -> dict[str, Any]:
    text = (ROOT / "tests" / "fixtures" / "ses" / f"{kind}.json").read_text()
    return json.loads(text.replace("EM_ID", email_id).replace("ACCOUNT_ID", account_id))


def _split(calls: Counter[tuple[str, str]]) -> dict[str, Any]:
    ses = sum(n for (service, _), n in calls.items() if service == "sesv2")
    return {"total": sum(calls.values()), "ses": ses, "non_ses": sum(calls.values()) - ses,
            "by_operation": {f"{s}.{o}": n for (s, o), n in sorted(calls.items())}}


def _item_sizes(session: Any, table: str) -> dict[str, tuple[int, list[str]]]:
    """Each item's size and the indexes it sits in, after the run (for updated items)."""
    from bench.stack import indexes_of, item_size
    sizes, start = {}, None
    client = session.client("dynamodb")
    while True:
        page = client.scan(TableName=table, **({"ExclusiveStartKey": start} if start else {}))
        for item in page["Items"]:
            sizes[json.dumps([item["pk"], item["sk"]])] = (item_size(item), indexes_of(item))
        start = page.get("LastEvaluatedKey")
        if not start:
            return sizes


def _capacity_units(units: tuple[list[tuple[str, Any]], list[bool], int],
                    sizes: dict[str, tuple[int, list[str]]]) -> dict[str, float]:
    """On-demand write units (1 KB each, doubled in transactions), the index replicas of
    those writes, and read units (an eventually consistent read of up to 4 KB is half a
    unit). A new item is written to every index it has a key for; an update rewrites its
    entry in an index only when it changes that index's keys or projected attributes
    (``letterbox/capacity.py``, from the template): the whole-item ``gsi1`` and ``gsi2``
    on any change, the listing ``gsi4`` when a listed field moves, the keys-only
    ``by_expiry`` and ``gsi3`` only when their keys do."""
    from letterbox.capacity import table_indexes
    indexes = {index.name: index for index in table_indexes()}
    writes, transactional, reads = units
    wru = index_wru = 0
    for (kind, value), in_transaction in zip(writes, transactional, strict=True):
        if kind == "put":
            size, written = value["size"], value["indexes"]
        else:
            key = value["key"]
            size, member_of = sizes.get(json.dumps([key["pk"], key["sk"]]), (1024, []))
            written = [name for name in member_of
                       if indexes[name].rewritten_by(value["changed"])]
        units_each = math.ceil(max(size, 1) / 1024)
        wru += units_each * (2 if in_transaction else 1)
        index_wru += sum(units_each if indexes[name].projection == "ALL" else 1
                         for name in written)
    return {"write_units": wru, "index_write_units": index_wru, "read_units": reads * 0.5}


class HandlerClock:
    """CPU seconds our handlers spend outside AWS calls (moto's work inside them taken out),
    and their wall seconds: what a Lambda would bill, before network latency."""

    def __init__(self, counter: Any) -> None:
        self._counter = counter
        self.cpu_s = self.wall_s = self.inside_cpu_s = 0.0

    def take(self) -> dict[str, float]:
        taken = {"handler_wall_ms": self.wall_s * 1000, "moto_cpu_ms": self.inside_cpu_s * 1000,
                 "our_cpu_ms": max(self.cpu_s - self.inside_cpu_s, 0.0) * 1000}
        self.cpu_s = self.wall_s = self.inside_cpu_s = 0.0
        return taken

    def timed(self, handler: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            inside, cpu, wall = (self._counter.inside_cpu_s, time.process_time(),
                                 time.perf_counter())
            try:
                return handler(*args, **kwargs)
            finally:
                self.cpu_s += time.process_time() - cpu
                self.wall_s += time.perf_counter() - wall
                self.inside_cpu_s += self._counter.inside_cpu_s - inside
        return run


def run() -> dict[str, Any]:
    from chalice.test import Client

    import app as app_module
    from chalicelib import wiring
    from letterbox.local.pump import drain_once
    from letterbox.local.seed import seed_account

    from bench.stack import bench_stack

    results: dict[str, Any] = {}
    with bench_stack() as (session, counter, _state), \
            Client(app_module.app, stage_name="dev", project_dir=str(ROOT)) as client:
        wiring.reset()
        account = seed_account(wiring.container())
        sqs = session.client("sqs")
        queue = wiring.container().settings.send_queue_url
        topic = wiring.container().settings.ses_events_topic_arn
        headers = {"Authorization": f"Bearer {account.api_key}",
                   "Content-Type": "application/json"}

        def email(n: int) -> dict[str, Any]:
            return {"from": f"Acme <hi@{account.domain}>", "to": f"reader{n}@example.net",
                    "subject": "Your receipt", "html": "<p>Thanks for your order.</p>"}

        clock = HandlerClock(counter)
        post = clock.timed(client.http.post)

        def drain() -> int:
            batches = 0
            while drain_once(sqs, queue, clock.timed(app_module.send_worker), "send_worker"):
                batches += 1
            return batches

        sns = session.client("sns")
        (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        events_queue = sqs.get_queue_url(
            QueueName=subscription["Endpoint"].rsplit(":", 1)[1])["QueueUrl"]

        def events(ids: list[str]) -> int:
            """SES publishes a Delivery per email to the topic (not our request); the topic's
            queue feeds ingest_ses_events in batches."""
            for email_id in ids:
                sns.publish(TopicArn=topic, Message=json.dumps(
                    _ses_event("delivery", email_id, account.account_id)))
            batches = 0
            while drain_once(sqs, events_queue, clock.timed(app_module.ingest_ses_events),
                             "ingest_ses_events"):
                batches += 1
            return batches

        def measure(count: int) -> dict[str, Any]:
            counter.take()
            counter.take_capacity()
            clock.take()
            started = time.perf_counter()
            if count == 1:
                answer = post("/v1/emails", body=json.dumps(email(0)),
                                          headers=headers)
                ids = [json.loads(answer.body)["id"]]
            else:
                answer = post("/v1/emails/batch", headers=headers, body=json.dumps(
                    {"emails": [email(n) for n in range(count)]}))
                ids = [r["id"] for r in json.loads(answer.body)["data"]]
            api, api_units, api_clock = counter.take(), counter.take_capacity(), clock.take()
            api_s, started = time.perf_counter() - started, time.perf_counter()
            batches = drain()
            worker, worker_units, worker_clock = (counter.take(), counter.take_capacity(),
                                                  clock.take())
            worker_s, started = time.perf_counter() - started, time.perf_counter()
            event_batches = events(ids)
            incoming, event_units, events_clock = (counter.take(), counter.take_capacity(),
                                                   clock.take())
            events_s = time.perf_counter() - started
            phases = {"api": _split(api), "worker": _split(worker), "events": _split(incoming)}
            sizes = _item_sizes(session, wiring.container().settings.table_name)
            for name, units in (("api", api_units), ("worker", worker_units),
                                ("events", event_units)):
                phases[name].update(_capacity_units(units, sizes))
            # Wall time of the whole phase in-process (moto, the poller and SES's publishes
            # included), and the handlers' own CPU with moto's work taken out.
            for name, seconds, invocations, timing in (
                    ("api", api_s, 1, api_clock), ("worker", worker_s, batches, worker_clock),
                    ("events", events_s, event_batches, events_clock)):
                phases[name].update(wall_ms=seconds * 1000, invocations=invocations, **timing)
            non_ses = sum(p["non_ses"] for p in phases.values())
            return {"emails": count, "phases": phases, "sqs_event_source_batches": batches,
                    "event_batches": event_batches,
                    "write_units_per_email": sum(p["write_units"] for p in phases.values())
                    / count,
                    "index_write_units_per_email": sum(p["index_write_units"]
                                                       for p in phases.values()) / count,
                    "read_units_per_email": sum(p["read_units"] for p in phases.values())
                    / count,
                    "non_ses_per_email": non_ses / count,
                    "non_ses_per_email_without_events":
                        (phases["api"]["non_ses"] + phases["worker"]["non_ses"]) / count,
                    "ses_per_email": sum(p["ses"] for p in phases.values()) / count,
                    "esm_sqs_per_email": (batches + event_batches) * ESM_REQUESTS_PER_BATCH
                    / count}

        measure(1)  # warm-up: secrets, keys and listener caches, as in a warm Lambda
        results["single"] = measure(1)
        results["batch_100"] = measure(100)
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
