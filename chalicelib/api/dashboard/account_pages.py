"""The account: retention, a recipient's export and erasure (audited), the account's own
export and closure; the team (users, invites, roles)."""

from __future__ import annotations

import json

from chalice.app import Response

from chalicelib.api.dashboard.frame import JSON, Visit, page
from chalicelib.api.dashboard.portal import cursor_of, model, principal, sliced
from chalicelib.errors import ValidationFailed

# Who may do what; shown on the team page, enforced by each page's ``role``.
PERMISSIONS = [
    ("Read the overview, emails, letters, domains, webhooks, suppressions, templates",
     "member"),
    ("Send a webhook test event, verify a domain, edit templates and suppressions", "member"),
    ("Add domains, change tracking, rotate DKIM; add, change and remove webhooks", "admin"),
    ("Create and revoke API keys and SMTP credentials", "admin"),
    ("Invite and remove users, change a member's or admin's role", "admin"),
    ("Set retention, export or erase a recipient's data, export the account", "admin"),
    ("Close the account", "admin"),
]


@page("/dashboard/settings", nav="Settings")
def settings(visit: Visit) -> Response:
    return _settings(visit)


def _settings(visit: Visit, status: int = 200, **shown: object) -> Response:
    container = visit.services.container
    account = container.accounts.describe(visit.user.account_id)
    audits = container.privacy.audit_log(visit.user.account_id).data
    return visit.render("settings.html", status=status, account=account,
                        audits=sliced(visit, list(reversed(audits))), done=visit.query("done"),
                        **shown)


@page("/dashboard/settings/retention", ("POST",), role="admin")
def retention(visit: Visit) -> Response:
    from chalicelib.account_models import AccountUpdate
    raw = visit.field("recipient_data_days").strip()
    if not raw.isdigit():
        raise ValidationFailed("recipient_data_days: a whole number of days from 1 to 365",
                               details=[{"field": "recipient_data_days"}])
    request = model(AccountUpdate, {"retention": {"recipient_data_days": int(raw)}})
    visit.services.container.accounts.update(visit.user.account_id, request, visit.now)
    return visit.redirect("/dashboard/settings?done=retention")


@page("/dashboard/settings/recipient", ("POST",), role="admin")
def recipient(visit: Visit) -> Response:
    from chalicelib.account_models import PrivacyRequest
    request = model(PrivacyRequest, {"email": visit.field("email").strip()})
    privacy = visit.services.container.privacy
    if visit.field("action") == "erase":
        if visit.field("confirm") != "erase":
            raise ValidationFailed("confirm: tick the box to erase this recipient's data")
        erased = privacy.erase(principal(visit), request.email, visit.now)
        return _settings(visit, erased=erased)
    exported = privacy.export(principal(visit), request.email, visit.now)
    return visit.respond(json.dumps(exported.model_dump(mode="json"), indent=2), 200, JSON, {
        "Content-Disposition": 'attachment; filename="letterbox-recipient-export.json"'})


@page("/dashboard/settings/export", role="admin")
def export_account(visit: Visit) -> Response:
    """One part of the account's export (500 items); ``next_cursor`` names the next part."""
    part = visit.services.container.privacy.export_account(principal(visit), 500,
                                                           cursor_of(visit))
    return visit.respond(json.dumps(part.model_dump(mode="json"), indent=2), 200, JSON, {
        "Content-Disposition": 'attachment; filename="letterbox-account-export.json"'})


@page("/dashboard/settings/close", ("POST",), role="admin")
def close_account(visit: Visit) -> Response:
    if visit.field("confirm").strip() != visit.user.account_id:
        raise ValidationFailed("confirm: type the account id to close the account",
                               details=[{"field": "confirm"}])
    visit.services.container.accounts.close(visit.user.account_id, visit.now,
                                            erase_now=visit.field("erase") == "now")
    visit.clear_cookie("lb_session")  # closing ended every session of the account
    return visit.redirect("/dashboard/signin")


# Team

@page("/dashboard/team", ("GET", "POST"), nav="Team")
def team(visit: Visit) -> Response:
    users = visit.services.users
    invite = None
    if visit.request.method == "POST":
        if not visit.user.at_least("admin"):
            from chalicelib.errors import Forbidden
            raise Forbidden("inviting users needs the admin role")
        role = visit.field("role") or "member"
        if role == "owner" and not visit.user.at_least("owner"):
            from chalicelib.errors import Forbidden
            raise Forbidden("only an owner invites another owner")
        invited, link = users.create_user(visit.user.account_id, visit.field("email"),
                                          role, visit.now)  # type: ignore[arg-type]
        invite = {"email": invited.email, "link": link}
    listed = sorted(users.list_users(visit.user.account_id), key=lambda u: u.email)
    return visit.render("team.html", users=sliced(visit, listed), invite=invite,
                        permissions=PERMISSIONS, done=visit.query("done"))


@page("/dashboard/team/{user_id}/role", ("POST",), role="admin")
def change_role(visit: Visit, user_id: str) -> Response:
    """The rules (who may, never one's own, never the last owner) are the service's."""
    visit.services.users.change_role(visit.user, user_id, visit.field("role"))
    return visit.redirect("/dashboard/team?done=role")


@page("/dashboard/team/{user_id}/remove", ("POST",), role="admin")
def remove_user(visit: Visit, user_id: str) -> Response:
    users = visit.services.users
    target = users.get(visit.user.account_id, user_id)
    if target.role == "owner" and not visit.user.at_least("owner"):
        from chalicelib.errors import Forbidden
        raise Forbidden("only an owner removes an owner")
    users.remove_user(visit.user.account_id, user_id)
    return visit.redirect("/dashboard/team?done=removed")
