"""Recipient export and erasure through the address index; erasure as a resumable job with
its audit record (issue 14 item 24)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib import privacy, wiring
from chalicelib.adapters.privacy_store import DynamoPrivacyStore
from tests.conftest import drain_privacy_queue, erase
from tests.flows import ADDRESS, bucket_objects, dump, full_flow, scan

TABLES = ("LETTERBOX_TABLE_NAME", "LETTERBOX_IDEMPOTENCY_TABLE_NAME")


def _send(api: Any, account: Any, **fields: Any) -> str:
    body = {"from": f"hi@{account.domain}", "to": "someone@example.org", "subject": "s",
            "text": "t", **fields}
    sent = api.post("/v1/emails", body, key=account.api_key)
    assert sent.status_code == 202, sent.json
    return str(sent.json["id"])


def _found_anywhere(stack: Any, address: str) -> int:
    """How often the address appears in every table and every object of the bucket."""
    texts = [dump(scan(stack, table)).lower() for table in TABLES]
    texts += [body.decode("latin-1").lower() for body in bucket_objects(stack).values()]
    return sum(t.count(address) + t.count(address.replace("@", "%40")) for t in texts)


def _export_all(api: Any, account: Any, address: str, limit: int = 500) -> list[dict]:
    messages, cursor = [], None
    while True:
        page = api.post("/v1/privacy/export", {"email": address, "limit": limit,
                                               **({"cursor": cursor} if cursor else {})},
                        key=account.api_key)
        assert page.status_code == 200, page.json
        messages += page.json["messages"]
        cursor = page.json["next_cursor"]
        if not cursor:
            return messages


def test_an_erasure_killed_mid_way_resumes_and_leaves_the_address_nowhere(
        api, account, drain, stack, tmp_path, monkeypatch) -> None:
    """Bug caught: an erasure run inside one API call (cut off by its timeout, never
    resumed), one that counts a page twice or loses it when its worker dies between
    deleting and recording, and Reply-To or cc/bcc pointers left behind."""
    full_flow(api, account, drain, stack, tmp_path, monkeypatch)  # to, events, S3, bounce
    _send(api, account, cc=["x@example.org", ADDRESS])
    _send(api, account, to=["y@example.org", "z@example.org"], bcc=[ADDRESS.upper()])
    _send(api, account, reply_to=f"Desk <{ADDRESS}>")
    kept = _send(api, account, to="bystander@example.org", cc=["x@example.org"])
    drain()
    naming = _export_all(api, account, ADDRESS, limit=2)
    assert len(naming) == 5 and _found_anywhere(stack, ADDRESS) > 0

    monkeypatch.setattr(privacy, "PAGE", 2)  # three pages: the worker dies in the second
    real_delete = DynamoPrivacyStore.delete_keys
    calls = {"n": 0}

    def dies_after_deleting(self: Any, keys: list) -> int:
        deleted = real_delete(self, keys)
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("Lambda killed after deleting, before recording")
        return deleted

    monkeypatch.setattr(DynamoPrivacyStore, "delete_keys", dies_after_deleting)
    started = api.post("/v1/privacy/erasure", {"email": ADDRESS}, key=account.api_key)
    assert started.status_code == 202 and started.json["state"] == "queued"
    assert started.json["address_hash"] and "@" not in started.json["address_hash"]
    drain_privacy_queue(stack)
    mid = api.get(f"/v1/privacy/erasure/{started.json['id']}", key=account.api_key).json
    assert mid["state"] == "running" and mid["messages_deleted"] == 2, mid

    time.sleep(2.2)  # the failed record comes back (the local pump's retry delay)
    drain_privacy_queue(stack)
    done = api.get(f"/v1/privacy/erasure/{started.json['id']}", key=account.api_key).json
    assert done["state"] == "done" and done["finished_at"], done
    assert done["messages_deleted"] == 5, "each page counted exactly once"
    assert done["objects_deleted"] == 1 and done["suppression"] == "kept_as_hash"
    assert _found_anywhere(stack, ADDRESS) == 0
    assert api.get(f"/v1/emails/{kept}", key=account.api_key).status_code == 200
    assert not any(i["sk"]["S"].startswith("ADDR#") for i in scan(stack, TABLES[0])
                   if kept not in i["sk"]["S"]), "no pointer of an erased message is left"

    audit = api.get("/v1/privacy/audit", key=account.api_key).json["data"]
    assert audit[0]["state"] == "done" and audit[0]["address_hash"] == done["address_hash"]
    assert audit[0]["counts"]["messages"] == 5


def test_a_one_recipient_send_writes_no_extra_item_or_request(api, account, stack) -> None:
    """Bug caught: the address index costing the common send a DynamoDB request (issue 13's
    budget), or a pointer item where the message's own index key suffices."""
    container = wiring.container()
    calls: list[str] = []
    events = container.table._client.meta.events
    events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    _send(api, account)  # warm: the secret and caches are read once per Lambda
    counted = []
    for index_on in (False, True):
        container.message_store.address_index = (container.address_index if index_on
                                                 else None)
        calls.clear()
        _send(api, account, to=f"solo{index_on}@example.org")
        counted.append(list(calls))
    assert counted[0] == counted[1], "the index adds no DynamoDB request"
    several = _send(api, account, to=["a@example.org"], cc=["b@example.org"],
                    reply_to="c@example.org")
    items = scan(stack, TABLES[0])
    pointers = [i for i in items if i["sk"]["S"].startswith("ADDR#")]
    assert [p["sk"]["S"].split("#")[1] for p in pointers] == [several, several]
    assert all("expires_at" in p and "@" not in dump(p) for p in pointers)
    message = next(i for i in items if i["sk"]["S"] == f"EM#{several}")
    assert message["gsi3pk"]["S"].startswith(f"ADDR#{account.account_id}#")


def test_messages_written_before_the_index_are_found_by_the_fallback_then_backfilled(
        api, account, stack, drain_privacy) -> None:
    """Bug caught: recipients of messages stored before the index existed silently missing
    from their export and surviving their erasure."""
    container = wiring.container()
    container.message_store.address_index = None  # the code before the index
    old = [_send(api, account, to=["p@example.org", "Old@Example.net"]),
           _send(api, account, reply_to="old@example.net")]
    container.message_store.address_index = container.address_index
    new = _send(api, account, to="old@example.net")
    assert not container.address_index.backfill_done(account.account_id)

    before = _export_all(api, account, "old@example.net")
    assert sorted(m["message_id"] for m in before) == sorted([*old, new])
    drain_privacy()  # the export queued the account's backfill
    assert container.address_index.backfill_done(account.account_id)
    after = _export_all(api, account, "old@example.net", limit=1)
    assert sorted(m["message_id"] for m in after) == sorted([*old, new])

    erased = erase(api, stack, account.api_key, "old@example.net")
    assert erased["messages_deleted"] == 3
    assert _found_anywhere(stack, "old@example.net") == 0


def test_an_erasure_job_is_the_callers_only(api, account, other_account, stack,
                                            drain_privacy) -> None:
    """Bug caught: one account reading another's erasure record or export cursor."""
    started = api.post("/v1/privacy/erasure", {"email": "y@example.net"},
                       key=account.api_key).json
    assert api.get(f"/v1/privacy/erasure/{started['id']}",
                   key=other_account.api_key).status_code == 404
    assert api.get("/v1/privacy/erasure/nope", key=account.api_key).status_code == 404
    for _ in range(2):
        _send(api, account, to="x@example.net")
    api.post("/v1/privacy/export", {"email": "x@example.net"}, key=account.api_key)
    drain_privacy()  # the account's backfill: exports read the index from now on
    page = api.post("/v1/privacy/export", {"email": "x@example.net", "limit": 1},
                    key=account.api_key).json
    assert page["has_more"] is True and len(page["messages"]) == 1
    stolen = api.post("/v1/privacy/export", {"email": "x@example.net",
                                             "cursor": page["next_cursor"]},
                      key=other_account.api_key)
    assert stolen.status_code == 422


@pytest.fixture(autouse=True)
def _index_restored() -> Any:
    yield
    container = wiring.container()
    container.message_store.address_index = container.address_index
