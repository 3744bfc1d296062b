"""Dashboard users: roles per account, invites, passwords (argon2id), TOTP, the profile and
the user's own rights (see, correct, export, delete)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from chalicelib.clock import iso
from chalicelib.errors import Conflict, Forbidden, LetterboxError, NotFound, ValidationFailed
from chalicelib.ids import new_id
from chalicelib.retention import DataClass

Role = Literal["owner", "admin", "member"]
ROLES: tuple[Role, ...] = ("owner", "admin", "member")
RANK = {"member": 0, "admin": 1, "owner": 2}
MIN_PASSWORD = 10
LINK_KINDS: dict[str, DataClass] = {"invite": DataClass.INVITE,
                                    "signin": DataClass.SIGNIN_LINK,
                                    "reset": DataClass.PASSWORD_RESET,
                                    "email": DataClass.PASSWORD_RESET}


class InvalidLink(LetterboxError):
    status = 410
    code = "link_invalid"


class Mailer(Protocol):
    def send(self, to: str, subject: str, text: str) -> None: ...


class Passwords(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, stored: str, password: str) -> bool: ...


class Secrets(Protocol):
    def encrypt(self, plaintext: bytes, context: dict[str, str]) -> bytes: ...
    def decrypt(self, ciphertext: bytes, context: dict[str, str]) -> bytes: ...


class Argon2Passwords:
    """argon2id through argon2-cffi (its default type), with its recommended parameters."""

    def __init__(self) -> None:
        from argon2 import PasswordHasher
        self._hasher = PasswordHasher()

    def hash(self, password: str) -> str:
        return str(self._hasher.hash(password))

    def verify(self, stored: str, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError
        try:
            return bool(self._hasher.verify(stored, password))
        except (VerificationError, InvalidHashError):
            return False


@dataclass(frozen=True)
class User:
    user_id: str
    account_id: str
    email: str
    role: Role
    name: str = ""
    company: str = ""
    status: str = "active"
    has_totp: bool = False
    dismissed: frozenset[str] = frozenset()

    @classmethod
    def of(cls, item: dict[str, Any]) -> User:
        return cls(user_id=item["user_id"], account_id=item["account_id"],
                   email=item["email"], role=item["role"], name=item.get("name", ""),
                   company=item.get("company", ""), status=item.get("status", "active"),
                   has_totp=bool(item.get("totp_secret")),
                   dismissed=frozenset(item.get("dismissed_notices", [])))

    def at_least(self, role: Role) -> bool:
        return RANK[self.role] >= RANK[role]


def new_token() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def token_hash(token: str) -> str:
    # Tokens carry 256 random bits: a plain hash stores them safely.
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_email(email: str) -> str:
    from email_validator import EmailNotValidError, validate_email
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as err:
        raise ValidationFailed(f"email: {err}", details=[{"field": "email"}]) from err
    return str(checked.normalized).lower()


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= 256:
        raise ValidationFailed(f"password: use at least {MIN_PASSWORD} characters",
                               details=[{"field": "password"}])


class UserService:
    def __init__(self, store: Any, passwords: Passwords, keyed_hash: Callable[[str], str],
                 secrets: Secrets, mailer: Callable[[], Mailer | None], base_url: str,
                 account_exists: Callable[[str], bool]) -> None:
        self.store = store
        self.passwords = passwords
        self._keyed_hash = keyed_hash
        self._secrets = secrets
        self.mailer = mailer
        self._base_url = base_url.rstrip("/")
        self.account_open = account_exists

    def email_hash(self, email: str) -> str:
        return self._keyed_hash(email.strip().lower())

    # Users and invites

    def create_user(self, account_id: str, email: str, role: Role,
                    now: datetime) -> tuple[User, str]:
        """A user in ``invited`` state and its invite link (7 days, single use)."""
        if role not in ROLES:
            raise ValidationFailed(f"role must be one of {', '.join(ROLES)}")
        if not self.account_open(account_id):
            raise NotFound(f"no open account {account_id}")
        address = normalize_email(email)
        item = {"user_id": new_id("usr"), "account_id": account_id, "email": address,
                "role": role, "status": "invited", "created_at": iso(now)}
        if not self.store.create_user(item, self.email_hash(address)):
            raise Conflict("a dashboard user with this email already exists")
        user = User.of(item)
        return user, self.issue_link("invite", user, now)

    def get(self, account_id: str, user_id: str) -> User:
        item = self.store.get_user(account_id, user_id)
        if item is None:  # another account's user is simply not there
            raise NotFound("no such user")
        return User.of(item)

    def list_users(self, account_id: str) -> list[User]:
        return [User.of(item) for item in self.store.list_users(account_id)]

    def remove_user(self, account_id: str, user_id: str) -> None:
        user = self.get(account_id, user_id)
        if user.role == "owner" and self.owners(account_id) == [user.user_id]:
            raise Conflict("the account's only owner cannot be removed; hand over first")
        self.store.delete_user_sessions(user.user_id)
        self.store.delete_user(account_id, user.user_id, self.email_hash(user.email))

    def change_role(self, actor: User, user_id: str, role: str) -> User:
        """Another user's role, as the team page changes it. Admins move users between
        member and admin; only an owner makes, demotes or changes an owner; nobody changes
        their own role (an owner steps down by handing over, from the profile); the last
        owner is never demoted, even by two owners demoting each other at once."""
        if not actor.at_least("admin"):
            raise Forbidden("changing roles needs the admin role")
        if role not in ROLES:
            raise ValidationFailed(f"role must be one of {', '.join(ROLES)}",
                                   details=[{"field": "role"}])
        target = self.get(actor.account_id, user_id)  # another account's user: 404
        if target.user_id == actor.user_id:
            raise ValidationFailed("you cannot change your own role; an owner hands over "
                                   "ownership from the profile", details=[{"field": "role"}])
        if "owner" in (target.role, role) and actor.role != "owner":
            raise Forbidden("only an owner makes, demotes or changes an owner")
        if target.role == role:
            return target
        if (target.role == "owner" and target.status == "active"
                and self.owners(actor.account_id) == [target.user_id]):
            raise Conflict("the account's only owner cannot be demoted; hand over first")
        # The actor must still hold the role read above: an owner demoted meanwhile (two
        # owners demoting each other) no longer may, so one owner always remains.
        if not self.store.set_role(actor.account_id, target.user_id, target.role, role,
                                   actor.user_id, actor.role):
            raise Conflict("the team changed meanwhile; reload the page and try again")
        return self.get(actor.account_id, target.user_id)

    def owners(self, account_id: str) -> list[str]:
        return [u.user_id for u in self.list_users(account_id)
                if u.role == "owner" and u.status == "active"]

    def set_password(self, user: User, password: str) -> None:
        check_password(password)
        self.store.update_user(user.account_id, user.user_id,
                               {"password_hash": self.passwords.hash(password),
                                "status": "active"})

    # Single-use links

    def issue_link(self, kind: str, user: User, now: datetime, **extra: str) -> str:
        token = new_token()
        self.store.put_link(token_hash(token), {"kind": kind, "account_id": user.account_id,
                                                "user_id": user.user_id, "created_at": iso(now),
                                                **extra}, LINK_KINDS[kind], now)
        path = {"invite": "invite", "signin": "signin/email", "reset": "reset",
                "email": "profile/confirm-email"}[kind]
        return f"{self._base_url}/dashboard/{path}?token={token}"

    def peek_link(self, kind: str, token: str, now: datetime) -> User:
        """The link's user without using it up (the page that asks to confirm)."""
        link = self.store.peek_link(token_hash(token)) if token else None
        return self._valid(kind, link, now)

    def take_link(self, kind: str, token: str, now: datetime) -> tuple[User, dict[str, Any]]:
        link = self.store.take_link(token_hash(token)) if token else None
        return self._valid(kind, link, now), link or {}

    def _valid(self, kind: str, link: dict[str, Any] | None, now: datetime) -> User:
        # TTL deletes late; the expiry itself is the rule.
        if (link is None or link.get("kind") != kind
                or int(link.get("expires_at", 0)) <= now.timestamp()):
            raise InvalidLink("this link has expired or was already used; ask for a new one")
        item = self.store.get_user(link["account_id"], link["user_id"])
        if item is None:
            raise InvalidLink("this link's user no longer exists")
        return User.of(item)

    def accept_invite(self, token: str, name: str, password: str, now: datetime) -> User:
        check_password(password)
        user, _ = self.take_link("invite", token, now)
        self.set_password(user, password)
        self.store.update_user(user.account_id, user.user_id, {"name": name.strip()[:200]})
        return self.get(user.account_id, user.user_id)

    def send_link(self, kind: str, email: str, now: datetime) -> None:
        """Sign-in link or reset by email; silent whether or not the address has a user."""
        mailer = self.mailer()
        item = self.store.user_by_email(self.email_hash(email)) if "@" in email else None
        if mailer is None or item is None or item.get("status") != "active":
            return
        user = User.of(item)
        url = self.issue_link(kind, user, now)
        if kind == "signin":
            mailer.send(user.email, "Your Letterbox sign-in link",
                        f"Sign in to the Letterbox dashboard:\n\n{url}\n\nThe link works once, "
                        "for 15 minutes. If you did not ask for it, ignore this message.\n")
        else:
            mailer.send(user.email, "Reset your Letterbox password",
                        f"Choose a new password:\n\n{url}\n\nThe link works once, for 1 hour. "
                        "If you did not ask for it, ignore this message.\n")

    def reset_password(self, token: str, password: str, now: datetime) -> User:
        check_password(password)
        user, _ = self.take_link("reset", token, now)
        self.set_password(user, password)
        self.store.delete_user_sessions(user.user_id)  # a reset ends every other session
        return user

    # TOTP

    def totp_secret(self, user: User) -> str | None:
        item = self.store.get_user(user.account_id, user.user_id) or {}
        sealed = item.get("totp_secret")
        if not sealed:
            return None
        return self._secrets.decrypt(bytes(sealed), self._context(user)).decode()

    def enable_totp(self, user: User, secret: str, code: str) -> None:
        import pyotp
        if not pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
            raise ValidationFailed("code: that code does not match; try the current one",
                                   details=[{"field": "code"}])
        sealed = self._secrets.encrypt(secret.encode(), self._context(user))
        self.store.update_user(user.account_id, user.user_id, {"totp_secret": sealed})

    def disable_totp(self, user: User) -> None:
        self.store.update_user(user.account_id, user.user_id, {"totp_secret": None})

    def totp_ok(self, user: User, code: str) -> bool:
        import pyotp
        secret = self.totp_secret(user)
        return secret is None or bool(pyotp.TOTP(secret).verify(code.strip(), valid_window=1))

    @staticmethod
    def _context(user: User) -> dict[str, str]:
        return {"account_id": user.account_id, "user_id": user.user_id, "purpose": "totp"}

    def closed_account(self, account_id: str, now: datetime) -> None:
        """Account closure: sessions end now; address claims expire with the account."""
        users = self.list_users(account_id)
        for user in users:
            self.store.delete_user_sessions(user.user_id)
        self.store.start_claim_clocks(account_id, [self.email_hash(u.email) for u in users],
                                      now)


def keyed(key: bytes) -> Callable[[str], str]:
    return lambda value: hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
