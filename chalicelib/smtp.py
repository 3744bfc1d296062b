"""SMTP relay credentials: one IAM user per credential, its secret turned into the SES SMTP
password by AWS's documented algorithm, shown once and never stored."""

from __future__ import annotations

import base64
import builtins
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from chalicelib.accounts import Principal
from chalicelib.clock import iso, utcnow
from chalicelib.errors import NotFound
from chalicelib.ids import has_prefix, new_id
from chalicelib.models import SmtpCredentialOut, SmtpCredentialSecret

# Fixed inputs of AWS's algorithm (SES developer guide, "Obtaining SES SMTP credentials").
_DATE = "11111111"
_SERVICE = "ses"
_TERMINAL = "aws4_request"
_MESSAGE = "SendRawEmail"
_VERSION = 0x04


def smtp_password(secret_access_key: str, region: str) -> str:
    """SigV4 key derivation over fixed inputs, then HMAC of "SendRawEmail", version-prefixed."""
    signature = ("AWS4" + secret_access_key).encode()
    for part in (_DATE, region, _SERVICE, _TERMINAL, _MESSAGE):
        signature = hmac.new(signature, part.encode(), hashlib.sha256).digest()
    return base64.b64encode(bytes([_VERSION]) + signature).decode()


class SmtpUsers(Protocol):
    def create(self, user_name: str, account_id: str, domains: list[str]) -> tuple[str, str]: ...
    def set_domains(self, user_name: str, domains: list[str]) -> None: ...
    def new_access_key(self, user_name: str) -> tuple[str, str]: ...
    def delete_access_key(self, user_name: str, access_key_id: str) -> None: ...
    def delete(self, user_name: str) -> None: ...


class CredentialStore(Protocol):
    def put(self, account_id: str, record: dict[str, Any]) -> None: ...
    def get(self, account_id: str, credential_id: str) -> dict[str, Any] | None: ...
    def list(self, account_id: str) -> list[dict[str, Any]]: ...
    def delete(self, account_id: str, credential_id: str) -> None: ...
    def mark_over_quota(self, account_id: str, day: str, now: datetime) -> None: ...
    def over_quota_day(self, account_id: str) -> str | None: ...
    def over_quota_marks(self) -> builtins.list[dict[str, Any]]: ...
    def clear_over_quota(self, account_id: str) -> None: ...


class VerifiedDomains(Protocol):
    def names(self, account_id: str, verified_only: bool = True) -> list[str]: ...


class SmtpCredentialService:
    """A credential's IAM policy allows its account's verified domains while the account may
    send, and nothing while it is paused (closure deletes the users): SES itself refuses a
    paused account's SMTP mail, since Letterbox never sees it before SES does."""

    def __init__(self, users: SmtpUsers, store: CredentialStore, domains: VerifiedDomains,
                 region: str, paused: Callable[[str], bool] = lambda account_id: False) -> None:
        self._users = users
        self._store = store
        self._domains = domains
        self._region = region
        self._paused = paused

    def _allowed(self, account_id: str) -> list[str]:
        over_quota = self._store.over_quota_day(account_id) == self._today()
        return ([] if over_quota or self._paused(account_id)
                else self._domains.names(account_id))

    def _today(self) -> str:
        return utcnow().date().isoformat()

    def quota_spent(self, account_id: str, now: datetime) -> None:
        """SMTP mail spent the account's daily quota (Letterbox sees SMTP mail only after SES
        sent it, through its events): its credentials may send nothing more today. The
        schedule gives them back the next UTC day (``restore_after_quota``)."""
        self._store.mark_over_quota(account_id, now.date().isoformat(), now)
        self.suspend(account_id)

    def restore_after_quota(self, now: datetime) -> int:
        """Credentials suspended for an earlier day's quota may send again (unless paused)."""
        restored = 0
        for mark in self._store.over_quota_marks():
            if str(mark.get("day", "")) < now.date().isoformat():
                self._store.clear_over_quota(mark["sk"])
                self.refresh_policies(mark["sk"])
                restored += 1
        return restored

    def _secret(self, record: dict[str, Any], secret: str) -> SmtpCredentialSecret:
        return SmtpCredentialSecret(
            **self._out(record).model_dump(), password=smtp_password(secret, self._region))

    def _out(self, record: dict[str, Any]) -> SmtpCredentialOut:
        return SmtpCredentialOut(
            id=record["credential_id"], name=record.get("name"),
            username=record["access_key_id"], server=f"email-smtp.{self._region}.amazonaws.com",
            ports=[587, 2587, 465, 2465], created_at=record["created_at"],
            rotated_at=record.get("rotated_at"))

    def create(self, principal: Principal, name: str | None, now: datetime
               ) -> SmtpCredentialSecret:
        credential_id = new_id("smtp")
        user_name = f"lbx-{credential_id}"
        allowed = [] if principal.sending_paused else self._allowed(principal.account_id)
        access_key_id, secret = self._users.create(user_name, principal.account_id, allowed)
        record = {"credential_id": credential_id, "name": name, "iam_user": user_name,
                  "access_key_id": access_key_id, "created_at": iso(now)}
        self._store.put(principal.account_id, record)
        return self._secret(record, secret)

    def _owned(self, principal: Principal, credential_id: str) -> dict[str, Any]:
        record = (self._store.get(principal.account_id, credential_id)
                  if has_prefix(credential_id, "smtp") else None)
        if record is None:
            raise NotFound(f"no SMTP credential {credential_id}")
        return record

    def list(self, principal: Principal) -> list[SmtpCredentialOut]:
        return [self._out(r) for r in self._store.list(principal.account_id)]

    def rotate(self, principal: Principal, credential_id: str, now: datetime
               ) -> SmtpCredentialSecret:
        record = self._owned(principal, credential_id)
        access_key_id, secret = self._users.new_access_key(record["iam_user"])
        self._users.delete_access_key(record["iam_user"], record["access_key_id"])
        record = {**record, "access_key_id": access_key_id, "rotated_at": iso(now)}
        self._store.put(principal.account_id, record)
        return self._secret(record, secret)

    def revoke(self, principal: Principal, credential_id: str) -> None:
        record = self._owned(principal, credential_id)
        self._users.delete(record["iam_user"])
        self._store.delete(principal.account_id, credential_id)

    def refresh_policies(self, account_id: str) -> None:
        """The account's verified domains, or its pause, changed: every credential follows."""
        domains = self._allowed(account_id)
        for record in self._store.list(account_id):
            self._users.set_domains(record["iam_user"], domains)

    def suspend(self, account_id: str) -> None:
        """The account was paused: its credentials may send nothing until it resumes."""
        for record in self._store.list(account_id):
            self._users.set_domains(record["iam_user"], [])

    def revoke_all(self, account_id: str, now: datetime) -> None:
        for record in self._store.list(account_id):
            self._users.delete(record["iam_user"])
            self._store.delete(account_id, record["credential_id"])


class SmtpQuota:
    """After an SMTP send is counted (once per SES event): its charge to the account's daily
    quota, exactly as an API send is charged; once the quota is spent, the account's SMTP
    credentials are suspended until the next UTC day (SES then refuses their mail)."""

    def __init__(self, charge: Callable[[str, int, datetime], bool],
                 spent: Callable[[str, datetime], None]) -> None:
        self._charge = charge
        self._spent = spent

    def __call__(self, account_id: str, event: dict[str, Any], now: datetime) -> None:
        if event.get("type") != "sent" or not (event.get("data") or {}).get("smtp"):
            return
        if self._charge(account_id, 1, now):
            self._spent(account_id, now)
