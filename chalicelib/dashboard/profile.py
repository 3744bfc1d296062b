"""The user's own data, as the documents promise: see, correct (email re-confirmed by a
link), export as JSON, delete (an owner hands over first); and dismissed notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.dashboard.users import User, UserService, normalize_email
from chalicelib.errors import Conflict, Forbidden, ValidationFailed


class ProfileService:
    def __init__(self, users: UserService) -> None:
        self._users = users

    def update_profile(self, user: User, name: str, company: str) -> User:
        self._users.store.update_user(user.account_id, user.user_id,
                               {"name": name.strip()[:200], "company": company.strip()[:200]})
        return self._users.get(user.account_id, user.user_id)

    def request_email_change(self, user: User, new_email: str, now: datetime) -> None:
        address = normalize_email(new_email)
        if address == user.email:
            return
        mailer = self._users.mailer()
        if mailer is None:
            raise Conflict("email is not configured on this deployment; ask an operator")
        url = self._users.issue_link("email", user, now, new_email=address)
        mailer.send(address, "Confirm your new Letterbox email",
                    f"Confirm this address for your Letterbox dashboard user:\n\n{url}\n\n"
                    "The link works once, for 1 hour.\n")

    def confirm_email_change(self, token: str, now: datetime) -> User:
        user, link = self._users.take_link("email", token, now)
        new_email = str(link["new_email"])
        store = self._users.store
        if not store.change_email(store.get_user(user.account_id, user.user_id), new_email,
                                  self._users.email_hash(user.email),
                                  self._users.email_hash(new_email)):
            raise Conflict("another dashboard user already has this email")
        return self._users.get(user.account_id, user.user_id)

    def export(self, user: User) -> dict[str, Any]:
        item = self._users.store.get_user(user.account_id, user.user_id) or {}
        public = ("user_id", "account_id", "email", "name", "company", "role", "status",
                  "created_at")
        sessions = [{k: s.get(k) for k in ("created_at", "remember", "expires_at")}
                    for s in self._users.store.user_sessions(user.user_id)]
        consents = [{k: c.get(k) for k in ("created_at", "registry_version", "categories",
                                            "source")}
                    for c in self._users.store.consents_of_user(user.user_id)]
        return {"user": {k: item.get(k) for k in public},
                "two_step_sign_in": bool(item.get("totp_secret")),
                "password": "set (stored only as an argon2id hash)" if item.get("password_hash")
                else "not set",
                "sessions": sessions, "consent_records": consents,
                "dismissed_notices": sorted(item.get("dismissed_notices", []))}

    def hand_over(self, owner: User, to_user_id: str) -> None:
        if owner.role != "owner":
            raise Forbidden("only an owner can hand over ownership")
        target = self._users.get(owner.account_id, to_user_id)  # 404 for another account's user
        if target.user_id == owner.user_id or target.status != "active":
            raise ValidationFailed("hand over to another active user of this account")
        self._users.store.update_user(owner.account_id, target.user_id, {"role": "owner"})
        self._users.store.update_user(owner.account_id, owner.user_id, {"role": "admin"})

    def delete_self(self, user: User) -> None:
        if user.role == "owner" and self._users.owners(user.account_id) == [user.user_id]:
            raise Conflict("you are the account's only owner: hand over ownership first")
        self._users.remove_user(user.account_id, user.user_id)

    def dismiss_notice(self, user: User, notice_id: str) -> None:
        dismissed = sorted(user.dismissed | {notice_id})[-200:]
        self._users.store.update_user(user.account_id, user.user_id,
                                      {"dismissed_notices": dismissed})

