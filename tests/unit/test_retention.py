"""The retention policy: expiries, and the S3 lifecycle rules infra/ must carry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.retention import (EXPIRY_SHARDS, POLICY, DataClass, expiry_bucket,
                                  expiry_buckets, expiry_for, s3_lifecycle_rules)
from letterbox.local.provision import lifecycle_rules_as_api, load_template

START = datetime(2026, 1, 1, tzinfo=UTC)


def test_message_log_is_kept_ninety_days() -> None:
    assert expiry_for(DataClass.MESSAGE_LOG, START) == int(
        datetime(2026, 4, 1, tzinfo=UTC).timestamp())


def test_engagement_days_are_account_configurable_within_bounds() -> None:
    assert expiry_for(DataClass.ENGAGEMENT_EVENT, START, days=1) == int(START.timestamp()) + 86400
    with pytest.raises(ValueError, match="at least 1"):
        expiry_for(DataClass.ENGAGEMENT_EVENT, START, days=0)
    with pytest.raises(ValueError, match="at most 365"):
        expiry_for(DataClass.ENGAGEMENT_EVENT, START, days=366)


def test_deferred_clocks_have_no_expiry_until_started() -> None:
    assert expiry_for(DataClass.ACCOUNT_DATA, None) is None
    assert expiry_for(DataClass.ACCOUNT_DATA, START) == int(START.timestamp()) + 90 * 86400


def test_a_started_clock_is_mandatory_for_fixed_classes() -> None:
    with pytest.raises(ValueError, match="needs a clock start"):
        expiry_for(DataClass.MESSAGE_LOG, None)


def test_expiry_bucket_is_the_utc_day() -> None:
    assert expiry_bucket(int(datetime(2026, 3, 4, 23, 59, tzinfo=UTC).timestamp())) == "2026-03-04"


def test_expiry_bucket_of_an_item_is_a_shard_of_its_day_that_the_purge_reads() -> None:
    """Bug caught: a shard the purge never queries, so items stamped with it never go."""
    moment = int(datetime(2026, 3, 4, 23, 59, tzinfo=UTC).timestamp())
    shards = {expiry_bucket(moment, {"pk": "EM#acct_1#em_1", "sk": f"EM#em_1#EVT#evt_{n}"})
              for n in range(200)}  # one message's own events spread over the shards too
    assert shards <= set(expiry_buckets("2026-03-04")) and len(shards) == EXPIRY_SHARDS


def test_every_class_has_a_rule() -> None:
    assert {rule.data_class for rule in POLICY} == set(DataClass)


def test_bucket_lifecycle_in_infra_equals_the_policy() -> None:
    bucket = load_template()["Resources"]["OffloadBucket"]["Properties"]
    assert lifecycle_rules_as_api(bucket["LifecycleConfiguration"]["Rules"]) == \
        s3_lifecycle_rules()
