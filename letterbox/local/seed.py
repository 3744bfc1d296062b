"""The dev account: an account, a full-scope key and a verified sending domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.clock import utcnow
from chalicelib.wiring import Container

DEV_DOMAIN = "letterbox.example.com"


@dataclass(frozen=True)
class SeededAccount:
    account_id: str
    api_key: str
    domain: str


def verify_ses_identity(session: Any, domain: str) -> None:
    """Moto's SES refuses unverified senders; local mode verifies its domains up front."""
    session.client("ses").verify_domain_identity(Domain=domain)


def seed_account(session: Any, container: Container, name: str = "dev",
                 domain: str = DEV_DOMAIN) -> SeededAccount:
    now = utcnow()
    account_id, key = container.accounts.create_account(name, now)
    container.accounts.add_verified_domain(account_id, domain, now)
    verify_ses_identity(session, domain)
    return SeededAccount(account_id=account_id, api_key=key.token, domain=domain)
