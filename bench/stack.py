"""A moto stack for benchmarks, provisioned from infra/ like the tests, with every boto3
call our code makes counted through botocore's ``before-call`` event hook."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FAKE_AWS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}


class RequestCounter:
    """Counts requests, and keeps what DynamoDB capacity needs: the size of every item a
    request writes in full, and the keys of those it updates (sized after the run)."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        # ("put", {size, indexes}) | ("key", {key, changed}): an update's changed attributes
        self.writes: list[tuple[str, Any]] = []
        self.transactional: list[bool] = []
        self.reads: list[tuple[str, Any]] = []
        # CPU and wall seconds spent inside AWS calls: under moto that is moto's own work,
        # which the cost model replaces by an assumed network latency per request.
        self.inside_cpu_s = 0.0
        self.inside_wall_s = 0.0
        self._started = threading.local()

    def hook(self, model: Any, **_: Any) -> None:
        """``before-call``: one AWS request."""
        self.calls[(model.service_model.service_name, model.name)] += 1
        self._started.at = (time.process_time(), time.perf_counter())

    def done(self, **_: Any) -> None:
        """``after-call``: the request answered (moto's work and botocore's parsing)."""
        started = getattr(self._started, "at", None)
        if started is not None:
            self.inside_cpu_s += time.process_time() - started[0]
            self.inside_wall_s += time.perf_counter() - started[1]
            self._started.at = None

    def parameters(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        """``before-parameter-build``: the request's API parameters, for capacity."""
        if model.service_model.service_name == "dynamodb":
            self._capacity(model.name, params)

    def _write(self, entry: tuple[str, Any], transactional: bool) -> None:
        self.writes.append(entry)
        self.transactional.append(transactional)

    def _capacity(self, operation: str, params: dict[str, Any]) -> None:
        if operation == "PutItem":
            self._write(put_entry(params["Item"]), False)
        elif operation == "UpdateItem":
            self._write(update_entry(params), False)
        elif operation == "DeleteItem":
            self._write(("key", {"key": params["Key"], "changed": set()}), False)
        elif operation == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                for request in requests:
                    if "PutRequest" in request:
                        self._write(put_entry(request["PutRequest"]["Item"]), False)
                    else:
                        self._write(("key", {"key": request["DeleteRequest"]["Key"],
                                             "changed": set()}), False)
        elif operation == "TransactWriteItems":
            for op in params["TransactItems"]:
                if "Put" in op:
                    self._write(put_entry(op["Put"]["Item"]), True)
                elif "Update" in op:
                    self._write(update_entry(op["Update"]), True)
                elif "ConditionCheck" in op:  # billed as a transactional write
                    check = op["ConditionCheck"]["Key"]
                    self._write(("key", {"key": check, "changed": set()}), True)
        elif operation in ("GetItem", "Query"):
            self.reads.append(("request", 1))
        elif operation == "BatchGetItem":
            for table in params["RequestItems"].values():
                self.reads += [("request", 1)] * len(table["Keys"])

    def take(self) -> Counter[tuple[str, str]]:
        taken, self.calls = self.calls, Counter()
        return taken

    def take_capacity(self) -> tuple[list[tuple[str, Any]], list[bool], int]:
        taken = (self.writes, self.transactional, len(self.reads))
        self.writes, self.transactional, self.reads = [], [], []
        return taken


def indexes_of(item: dict[str, Any]) -> list[str]:
    """The indexes (``infra/resources.yaml``) an item has a partition key for."""
    from letterbox.capacity import table_indexes
    return [index.name for index in table_indexes() if index.keys[0] in item]


def put_entry(item: dict[str, Any]) -> tuple[str, Any]:
    return ("put", {"size": item_size(item), "indexes": indexes_of(item)})


def update_entry(params: dict[str, Any]) -> tuple[str, Any]:
    from letterbox.capacity import updated_attributes
    return ("key", {"key": params["Key"], "changed": updated_attributes(
        params["UpdateExpression"], params.get("ExpressionAttributeNames"))})


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size, near enough: attribute names plus their values' bytes (items
    here are in the wire form, ``{"S": "..."}``)."""
    import json
    return sum(len(name) + len(json.dumps(value, default=str)) - 8
               for name, value in item.items())


@contextmanager
def bench_stack() -> Iterator[tuple[Any, RequestCounter, Path]]:
    """(boto3 session, counter, state dir) inside mock_aws, with wiring pointed at it."""
    from moto import mock_aws

    saved = dict(os.environ)
    state = Path(tempfile.mkdtemp(prefix="letterbox-bench-"))
    os.environ.update(FAKE_AWS)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update({"LETTERBOX_LOCAL_MODE": "true",
                       "LETTERBOX_DNS_ZONE_FILE": str(state / "zone.txt"),
                       "LETTERBOX_SNS_LOCAL_CERT_FILE": str(state / "sns.pem")})
    counter = RequestCounter()
    try:
        with mock_aws():
            import boto3

            from chalicelib import wiring
            from letterbox.local.provision import provision
            session = boto3.session.Session(region_name="us-east-1")
            os.environ.update(provision(session, "letterbox-bench",
                                        {"PublicBaseUrl": "https://api.bench.example"}))
            wiring.reset()
            original = wiring.Container.client

            def counted(self: Any, service: str, attempts: int = 4) -> Any:
                cache = self.__dict__.setdefault("_clients", {})
                fresh = (service, attempts) not in cache
                client = original(self, service, attempts)
                if fresh:
                    client.meta.events.register("before-call.*.*", counter.hook)
                    client.meta.events.register("after-call.*.*", counter.done)
                    client.meta.events.register("before-parameter-build.*.*",
                                                counter.parameters)
                return client

            wiring.Container.client = counted  # type: ignore[method-assign]
            try:
                yield session, counter, state
            finally:
                wiring.Container.client = original  # type: ignore[method-assign]
                wiring.reset()
    finally:
        os.environ.clear()
        os.environ.update(saved)
