"""The hourly purge: makes the retention policy exact where DynamoDB TTL and S3 lifecycle
rules are lazy, and does what they cannot express.

1. Retention changes: when an account changes how long recipient data is kept, its events
   get the new expiry (or go at once, if the new period has already passed them).
2. Expired items: day by day through the sparse ``by_expiry`` index, from the last finished
   day. A closed account's own record expiring takes its whole partition with it.
3. S3 objects older than their class allows.

Every step reads by key or index, never by scanning a table; every step is idempotent and
checkpointed, so a run cut off by the Lambda timeout resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from chalicelib.ids import new_id
from chalicelib.retention import POLICY

Key = dict[str, str]
PAGE = 500


class PurgeStore(Protocol):
    def expired_keys(self, bucket: str, now: int, page: int) -> Iterator[list[Key]]: ...
    def account_partitions(self, account_id: str) -> list[str]: ...
    def delete_keys(self, keys: list[Key]) -> int: ...
    def get_checkpoint(self, name: str) -> str | None: ...
    def set_checkpoint(self, name: str, value: str) -> None: ...
    def retention_jobs(self) -> list[dict[str, Any]]: ...
    def advance_job(self, job: dict[str, Any], cursor: str | None) -> bool: ...
    def events_page(self, account_id: str, cursor: str | None, limit: int
                    ) -> tuple[list[dict[str, Any]], str | None]: ...
    def set_expiry(self, key: Key, expires_at: int) -> bool: ...
    def partition_keys(self, pk: str, limit: int) -> list[Key]: ...
    def message_partitions_page(self, account_id: str, cursor: str | None, limit: int
                                ) -> tuple[list[str], str | None]: ...
    def api_key_keys(self, gsi1pk: str) -> list[Key]: ...
    def release_claim(self, name: str, account_id: str) -> None: ...


class ObjectStore(Protocol):
    def keys(self, prefix: str) -> list[str]: ...
    def keys_older_than(self, prefix: str, cutoff: datetime) -> list[str]: ...
    def delete_many(self, keys: list[str]) -> int: ...


@dataclass
class PurgeReport:
    buckets_scanned: int = 0
    items_read: int = 0
    items_deleted: int = 0
    events_restamped: int = 0
    objects_deleted: int = 0
    accounts_erased: int = 0
    finished: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Deadline:
    """Out of time once ``seconds`` have passed since it was made."""

    def __init__(self, seconds: float) -> None:
        self._at = time.monotonic() + seconds

    def __call__(self) -> bool:
        return time.monotonic() > self._at


class RetentionJobs(Protocol):
    def put_retention_job(self, account_id: str, days: int, version: str,
                          not_before: int) -> None: ...


class RetentionCache(Protocol):
    ttl_seconds: float

    def forget(self, account_id: str) -> None: ...


class RetentionChange:
    """An account's new period: new events follow it at once (here), stored ones by a purge
    job that waits until every warm Lambda's cache has the new period."""

    def __init__(self, cache: RetentionCache, jobs: RetentionJobs) -> None:
        self._cache = cache
        self._jobs = jobs

    def __call__(self, account_id: str, days: int, now: datetime) -> None:
        self._cache.forget(account_id)
        self._jobs.put_retention_job(account_id, days, version=new_id("aud"),
                                     not_before=int(now.timestamp() + self._cache.ttl_seconds))


def never() -> bool:
    return False


class Purger:
    def __init__(self, store: PurgeStore, objects: ObjectStore,
                 out_of_time: Callable[[], bool] = never,
                 on_account_erased: list[Callable[[str, list[str]], None]] | None = None
                 ) -> None:
        self._store = store
        self._objects = objects
        self._out_of_time = out_of_time
        self._on_account_erased = on_account_erased or []

    def run(self, now: datetime, first_run_days: int) -> PurgeReport:
        report = PurgeReport()
        for step in (self._retention_changes, self._expired_items, self._expired_objects):
            step(now, first_run_days, report)
            if not report.finished:
                break
        return report

    def _retention_changes(self, now: datetime, _: int, report: PurgeReport) -> None:
        moment = int(now.timestamp())
        for job in self._store.retention_jobs():
            if int(job["not_before"]) > moment:
                continue  # other warm Lambdas may still write with the old period
            period, cursor = int(job["days"]) * 86400, job.get("cursor")
            while True:
                items, cursor = self._store.events_page(job["account_id"], cursor, PAGE)
                report.items_read += len(items)
                gone = []
                for item in items:
                    if "clock_at" not in item:
                        continue
                    key, expires_at = {"pk": item["pk"], "sk": item["sk"]}, \
                        int(item["clock_at"]) + period
                    if expires_at <= moment:
                        gone.append(key)
                    elif expires_at != item.get("expires_at") and \
                            self._store.set_expiry(key, expires_at):
                        report.events_restamped += 1
                report.items_deleted += self._store.delete_keys(gone)
                if not self._store.advance_job(job, cursor) or cursor is None:
                    break  # finished, or replaced by a newer change that starts over
                if self._out_of_time():
                    report.finished = False
                    return

    def _expired_items(self, now: datetime, first_run_days: int, report: PurgeReport) -> None:
        """Day buckets from the last finished day through today."""
        today = now.astimezone(UTC).date()
        checkpoint = self._store.get_checkpoint("purge")
        day = (datetime.strptime(checkpoint, "%Y-%m-%d").date() + timedelta(days=1)
               if checkpoint else today - timedelta(days=first_run_days))
        while day <= today:
            bucket = day.strftime("%Y-%m-%d")
            for keys in self._store.expired_keys(bucket, int(now.timestamp()), PAGE):
                report.items_read += len(keys)  # a page at a time, never a whole day in memory
                accounts = [k for k in keys if k["sk"] == "ACCOUNT"]
                report.items_deleted += self._store.delete_keys(
                    [k for k in keys if k["sk"] != "ACCOUNT"])
                for key in accounts:
                    if not self.erase_account(key["pk"].removeprefix("ACCT#"), report):
                        report.finished = False
                        return
            report.buckets_scanned += 1
            if day < today:  # today still fills; only whole past days are done
                self._store.set_checkpoint("purge", bucket)
            if self._out_of_time():
                report.finished = False
                return
            day += timedelta(days=1)

    def erase_account(self, account_id: str, report: PurgeReport) -> bool:
        """Everything a closed account left: objects, keys, its partition, then its own
        record (last, so an interrupted erasure is found and finished by the next run)."""
        pk = f"ACCT#{account_id}"
        for rule in POLICY:
            if rule.s3_prefix:
                report.objects_deleted += self._objects.delete_many(
                    self._objects.keys(f"{rule.s3_prefix}{account_id}/"))
        keys = self._store.api_key_keys(pk) + self._store.partition_keys(f"QUOTA#{account_id}",
                                                                          PAGE)
        report.items_read += len(keys)
        report.items_deleted += self._store.delete_keys(keys)
        while True:
            keys = [k for k in self._store.partition_keys(pk, PAGE) if k["sk"] != "ACCOUNT"]
            if not keys:
                break
            report.items_read += len(keys)
            domains = [k["sk"].removeprefix("DOMAIN#") for k in keys
                       if k["sk"].startswith("DOMAIN#")]
            for name in domains:
                self._store.release_claim(name, account_id)
            for hook in self._on_account_erased:
                hook(account_id, domains)  # e.g. the SES identities of those domains
            report.items_deleted += self._store.delete_keys(keys)
            if self._out_of_time():
                return False
        for partition in self._store.account_partitions(account_id):  # old shards, counters
            if not self._empty_partition(partition, report):
                return False
        cursor = None
        while True:  # messages in their own partitions, through the account's listing
            partitions, cursor = self._store.message_partitions_page(account_id, cursor, PAGE)
            for partition in partitions:
                if not self._empty_partition(partition, report):
                    return False
            if cursor is None:
                break
        report.items_deleted += self._store.delete_keys([{"pk": pk, "sk": "ACCOUNT"}])
        report.accounts_erased += 1
        return True

    def _empty_partition(self, partition: str, report: PurgeReport) -> bool:
        """Delete everything under one partition key; False if time ran out first."""
        while keys := self._store.partition_keys(partition, PAGE):
            report.items_read += len(keys)
            report.items_deleted += self._store.delete_keys(keys)
            if self._out_of_time():
                return False
        return True

    def _expired_objects(self, now: datetime, _: int, report: PurgeReport) -> None:
        for rule in POLICY:
            if rule.s3_prefix and rule.days:
                stale = self._objects.keys_older_than(rule.s3_prefix,
                                                      now - timedelta(days=rule.days))
                report.objects_deleted += self._objects.delete_many(stale)


class EraseNow:
    """Erase a closed account within the API call's time, or leave the rest to the purge."""

    def __init__(self, purger_until: Callable[[Callable[[], bool]], Purger],
                 seconds: float = 20) -> None:
        self._purger_until = purger_until  # built on use: most closures never erase at once
        self._seconds = seconds

    def __call__(self, account_id: str) -> bool:
        purger = self._purger_until(Deadline(self._seconds))
        return purger.erase_account(account_id, PurgeReport())
