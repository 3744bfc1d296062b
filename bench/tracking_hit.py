"""Tracking hits: CPU per open and per click through the real Chalice handler (message store
faked, so only our CPU counts), and AWS requests per hit counted under moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.dkim_rate import per_second

ROOT = Path(__file__).resolve().parents[1]


class FakeMessages:
    def get(self, account_id: str, message_id: str) -> dict[str, Any]:
        return {"to": ["reader@example.net"], "tags": [], "metadata": {"order": "42"}}

    def record_events(self, account_id: str, events: list[dict[str, Any]], now: Any) -> None:
        pass

    def apply_event(self, account_id: str, message_id: str, event: dict[str, Any],
                    status: str | None, now: Any) -> bool:
        return True


def _tokens(tracking: Any, account_id: str = "acct_bench",
            email_id: str = "em_01ARZ3NDEKTSV4RRFFQ69G5FAV") -> tuple[str, str]:
    """(pixel token, click token) as the worker would put them in a message."""
    html = tracking.instrument('<p><a href="https://shop.example/x">x</a></p>', account_id,
                               email_id, ["reader@example.net"], True, True)
    click = html.split("/t/c/", 1)[1].split('"', 1)[0]
    pixel = html.split("/t/o/", 1)[1].split('"', 1)[0]
    return pixel, click


def run() -> dict[str, Any]:
    from chalice.test import Client

    import app as app_module
    from chalicelib import wiring

    from bench.stack import bench_stack

    results: dict[str, Any] = {}
    headers = {"Accept": "image/*", "User-Agent": "Mozilla/5.0 (Windows NT 10.0) Thunderbird"}
    with bench_stack() as (_, counter, _state), \
            Client(app_module.app, stage_name="dev", project_dir=str(ROOT)) as client:
        from letterbox.local.seed import seed_account
        container = wiring.container()
        account = seed_account(container)
        accepted = client.http.post("/v1/emails", headers={
            "Authorization": f"Bearer {account.api_key}", "Content-Type": "application/json"},
            body=json.dumps({"from": f"hi@{account.domain}", "to": "reader@example.net",
                             "subject": "s", "html": "<p>hi</p>"}))
        email_id = json.loads(accepted.body)["id"]
        pixel, click = _tokens(container.tracking, account.account_id, email_id)
        client.http.get(f"/t/o/{pixel}", headers=headers)  # warm caches
        counter.take()
        client.http.get(f"/t/o/{pixel}", headers=headers)
        results["aws_requests_per_open"] = sum(counter.take().values())
        client.http.get(f"/t/c/{click}", headers=headers)
        results["aws_requests_per_click"] = sum(counter.take().values())

        wiring.use(message_store=FakeMessages())
        pixel, click = _tokens(wiring.container().tracking)
        # Time the real paths, not an error page: a fake the handler no longer fits fails here.
        assert client.http.get(f"/t/o/{pixel}", headers=headers).status_code == 200
        assert client.http.get(f"/t/c/{click}", headers=headers).status_code == 302
        opened = per_second(lambda: client.http.get(f"/t/o/{pixel}", headers=headers), 1.5)
        clicked = per_second(lambda: client.http.get(f"/t/c/{click}", headers=headers), 1.5)
        results.update(open_cpu_ms=1000 / opened, click_cpu_ms=1000 / clicked,
                       opens_per_s=opened, clicks_per_s=clicked)
        floor = per_second(lambda: client.http.get("/t/o/not-a-token", headers=headers), 1.5)
        results["reference_unsigned_pixel_cpu_ms"] = 1000 / floor
    return results


if __name__ == "__main__":
    print(run())
