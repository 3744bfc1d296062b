"""A rescheduled email cannot outlive its stored content (issue 14 item 12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.adapters.message_keys import message_partition
from chalicelib.clock import iso
from tests.integration.test_sending_api import _email


def test_rescheduling_past_the_contents_lifecycle_is_a_422(api, account, stack) -> None:
    """Bug caught: an email accepted 20 days ago rescheduled 25 days ahead, its content's
    31-day lifecycle (counted from acceptance) deleting it before the send."""
    now = datetime.now(UTC)
    accepted = api.post("/v1/emails", _email(account, scheduled_at=(now + timedelta(
        days=1)).isoformat()), key=account.api_key).json
    stack.client("dynamodb").update_item(
        TableName=stack.env["LETTERBOX_TABLE_NAME"],
        Key={"pk": {"S": message_partition(account.account_id, accepted["id"])},
             "sk": {"S": f"EM#{accepted['id']}"}},
        UpdateExpression="SET created_at = :c",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues={":c": {"S": iso(now - timedelta(days=20))}})
    too_late = api.request("PATCH", f"/v1/emails/{accepted['id']}",
                           {"scheduled_at": (now + timedelta(days=25)).isoformat()},
                           key=account.api_key)
    assert too_late.status_code == 422
    assert too_late.json["error"]["details"] == [{"field": "scheduled_at"}]
    fine = api.request("PATCH", f"/v1/emails/{accepted['id']}",
                       {"scheduled_at": (now + timedelta(days=5)).isoformat()},
                       key=account.api_key)
    assert fine.status_code == 200
