"""Sign-in and server-side sessions.

A session id is 256 random bits held only by the browser (``lb_session``); the table keeps its
hash, the user, and the hash of the session's CSRF token. Failed sign-ins count per address
(whether or not it has a user) and per client, so throttling never tells who exists.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.clock import iso
from chalicelib.dashboard.users import User, UserService, new_token, token_hash
from chalicelib.errors import LetterboxError, RateLimited
from chalicelib.retention import DataClass

WINDOW = timedelta(minutes=15)
LIMITS = {"address": 5, "client": 30}  # failures per window before sign-in pauses
# A real argon2id hash of a random password: a missing user costs the same time to refuse.
_DUMMY_PASSWORD = new_token()


class SignInFailed(LetterboxError):
    status = 401
    code = "unauthorized"


@dataclass(frozen=True)
class Session:
    id_hash: str
    user: User
    remember: bool
    csrf_hash: str
    prefs: dict[str, str]


@dataclass(frozen=True)
class Issued:
    session_id: str
    csrf: str
    remember: bool


class SessionService:
    def __init__(self, users: UserService, keyed_hash: Callable[[str], str]) -> None:
        self._users = users
        self._store = users.store
        self._keyed_hash = keyed_hash
        self._dummy: str | None = None

    # Sign-in

    def sign_in(self, email: str, password: str, code: str, client: str,
                now: datetime) -> User:
        keys = {"address": self._keyed_hash(f"address:{email.strip().lower()}"),
                "client": self._keyed_hash(f"client:{client}")}
        window = self._window(now)
        for kind, key in keys.items():
            if self._store.failures(kind, key, window) >= LIMITS[kind]:
                raise RateLimited("too many failed sign-ins; wait 15 minutes and try again",
                                  headers={"Retry-After": str(self._retry_after(now))})
        item = self._store.user_by_email(self._users.email_hash(email)) if "@" in email \
            else None
        stored = (item or {}).get("password_hash") or self._dummy_hash()
        password_ok = self._users.passwords.verify(stored, password)
        user = User.of(item) if item else None
        if (user is None or not password_ok or user.status != "active"
                or not self._users.totp_ok(user, code)
                or not self._users.account_open(user.account_id)):
            for kind, key in keys.items():
                self._store.count_failure(kind, key, window, now)
            raise SignInFailed("that email, password or code is not right")
        return user

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self._users.passwords.hash(_DUMMY_PASSWORD)
        return self._dummy

    @staticmethod
    def _window(now: datetime) -> str:
        start = int(now.timestamp()) // int(WINDOW.total_seconds())
        return f"W#{start}"

    @staticmethod
    def _retry_after(now: datetime) -> int:
        size = int(WINDOW.total_seconds())
        return size - int(now.timestamp()) % size

    # Sessions

    def start(self, user: User, remember: bool, now: datetime) -> Issued:
        session_id, csrf = new_token(), new_token()
        data_class = (DataClass.DASHBOARD_SESSION_REMEMBERED if remember
                      else DataClass.DASHBOARD_SESSION)
        self._store.put_session(token_hash(session_id), {
            "account_id": user.account_id, "user_id": user.user_id, "remember": remember,
            "csrf_hash": token_hash(csrf), "created_at": iso(now)}, data_class, now)
        return Issued(session_id=session_id, csrf=csrf, remember=remember)

    def resolve(self, session_id: str | None, now: datetime) -> Session | None:
        """The live session behind a cookie, or None (unknown, revoked, expired, user gone)."""
        if not session_id:
            return None
        id_hash = token_hash(session_id)
        item = self._store.get_session(id_hash)
        if item is None or int(item.get("expires_at", 0)) <= now.timestamp():
            return None
        user_item = self._store.get_user(item["account_id"], item["user_id"])
        if user_item is None or user_item.get("status") != "active":
            return None
        return Session(id_hash=id_hash, user=User.of(user_item),
                       remember=bool(item.get("remember")), csrf_hash=item["csrf_hash"],
                       prefs=dict(item.get("prefs") or {}))

    def csrf_matches(self, session: Session | None, token: str) -> bool:
        if session is None:
            return True  # signed out: the double-submit comparison alone applies
        return hmac.compare_digest(session.csrf_hash, token_hash(token))

    def revoke(self, session: Session) -> None:
        self._store.delete_session(session.id_hash)

    def revoke_everywhere(self, user: User) -> int:
        return int(self._store.delete_user_sessions(user.user_id))

    def keep_prefs(self, session: Session, prefs: dict[str, str]) -> None:
        """Preferences without consent live in the session only: they end with the visit."""
        self._store.update_session(session.id_hash, {"prefs": prefs})
