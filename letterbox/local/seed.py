"""The dev account: an account, a full-scope key and a sending domain verified through the
real path: records created by the API, published to the local zone, checked by DNS."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chalicelib.accounts import Principal
from chalicelib.clock import utcnow
from chalicelib.models import DomainCreate
from chalicelib.wiring import Container
from letterbox.local.zone import publish

DEV_DOMAIN = "letterbox.example.com"


DEV_USER = "dev@letterbox.example.com"


@dataclass(frozen=True)
class DevUser:
    email: str
    password: str


def seed_dashboard_user(container: Container, account_id: str,
                        email: str = DEV_USER) -> DevUser:
    """The dev account's owner, with a fresh random password (printed into dev.json)."""
    import secrets
    users = container.dashboard.users
    _, url = users.create_user(account_id, email, "owner", utcnow())
    password = secrets.token_urlsafe(12)
    users.accept_invite(url.split("token=", 1)[1], "Dev Owner", password, utcnow())
    return DevUser(email=email, password=password)


@dataclass(frozen=True)
class SeededAccount:
    account_id: str
    api_key: str
    domain: str
    domain_id: str


def add_local_domain(container: Container, account_id: str, name: str,
                     dkim: str = "rsa2048") -> str:
    """Create a domain, publish its records in the local zone, verify it; returns its id."""
    zone = container.settings.dns_zone_file
    if zone is None:
        raise RuntimeError("local domains need LETTERBOX_DNS_ZONE_FILE")
    principal = Principal(account_id=account_id, key_id="operator", scope="full")
    domains = container.domains
    created = domains.create_domain(principal, DomainCreate(name=name, dkim=dkim), utcnow())
    publish(Path(zone), [r for r in created.records if r.required])
    verified = domains.verify_domain(principal, created.id, utcnow())
    if verified.status != "verified":
        raise RuntimeError(f"{name} did not verify against {zone}")
    return created.id


def seed_account(container: Container, name: str = "dev", domain: str = DEV_DOMAIN,
                 dkim: str = "rsa2048") -> SeededAccount:
    account_id, key = container.accounts.create_account(name, utcnow())
    domain_id = add_local_domain(container, account_id, domain, dkim)
    return SeededAccount(account_id=account_id, api_key=key.token, domain=domain,
                         domain_id=domain_id)
