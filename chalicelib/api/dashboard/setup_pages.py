"""Setting up sending: domains and their DNS records, API keys, SMTP credentials, webhooks.
Secrets (a key, a password, a signing secret) are rendered once, in the POST's answer, and
never put in a URL."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.dashboard.frame import Visit, page
from chalicelib.api.dashboard.portal import cursor_of, model, principal, sliced
from chalicelib.errors import ValidationFailed
from chalicelib.vocabulary import WEBHOOK_EVENT_GROUPS


# Domains

@page("/dashboard/domains", ("GET", "POST"), nav="Domains")
def domains(visit: Visit) -> Response:
    service = visit.services.container.domains
    if visit.request.method == "POST":
        _need_admin(visit)
        from chalicelib.models import DomainCreate
        request = model(DomainCreate, {
            "name": visit.field("name").strip(), "dkim": visit.field("dkim") or "rsa2048",
            "mail_from_subdomain": visit.field("mail_from_subdomain").strip() or "mail"})
        created = service.create_domain(principal(visit), request, visit.now)
        return visit.redirect(f"/dashboard/domains/{created.id}?done=created")
    found = service.list_domains(principal(visit), 20, cursor_of(visit))
    return visit.render("domains.html", page=found, cursor=cursor_of(visit))


@page("/dashboard/domains/{domain_id}")
def domain_detail(visit: Visit, domain_id: str) -> Response:
    domain = visit.services.container.domains.get_domain(principal(visit), domain_id)
    return visit.render("domain.html", domain=domain, done=visit.query("done"), checked=False)


@page("/dashboard/domains/{domain_id}/verify", ("POST",))
def verify_domain(visit: Visit, domain_id: str) -> Response:
    domain = visit.services.container.domains.verify_domain(principal(visit), domain_id,
                                                            visit.now)
    return visit.render("domain.html", domain=domain, done="", checked=True)


@page("/dashboard/domains/{domain_id}/tracking", ("POST",), role="admin")
def domain_tracking(visit: Visit, domain_id: str) -> Response:
    from chalicelib.models import DomainUpdate
    request = DomainUpdate(track_opens=visit.field("track_opens") == "on",
                           track_clicks=visit.field("track_clicks") == "on")
    visit.services.container.domains.update_domain(principal(visit), domain_id, request)
    return visit.redirect(f"/dashboard/domains/{domain_id}?done=tracking")


@page("/dashboard/domains/{domain_id}/rotate", ("POST",), role="admin")
def rotate_dkim(visit: Visit, domain_id: str) -> Response:
    visit.services.container.domains.rotate_dkim(principal(visit), domain_id, visit.now)
    return visit.redirect(f"/dashboard/domains/{domain_id}?done=rotated")


@page("/dashboard/domains/{domain_id}/delete", ("POST",), role="admin")
def delete_domain(visit: Visit, domain_id: str) -> Response:
    visit.services.container.domains.delete_domain(principal(visit), domain_id)
    return visit.redirect("/dashboard/domains")


# API keys: admins and owners only (members get 403)

@page("/dashboard/keys", ("GET", "POST"), role="admin", nav="API keys")
def keys(visit: Visit) -> Response:
    accounts = visit.services.container.accounts
    account_id = visit.user.account_id
    issued = None
    if visit.request.method == "POST":
        scope = visit.field("scope") or "full"
        if scope not in ("full", "sending"):
            raise ValidationFailed("scope: full or sending", details=[{"field": "scope"}])
        limit = [d.strip() for d in visit.field("domains").replace(",", " ").split() if d]
        if limit and scope != "sending":
            raise ValidationFailed("domains: only a sending key is limited to domains",
                                   details=[{"field": "domains"}])
        known = set(visit.services.container.domain_store.names(account_id, verified_only=False))
        unknown = [d for d in limit if d.lower() not in known]
        if unknown:
            raise ValidationFailed(f"domains: not domains of this account: {', '.join(unknown)}",
                                   details=[{"field": "domains"}])
        issued = accounts.create_key(account_id, scope, visit.now, limit)  # type: ignore[arg-type]
    listed = sorted(accounts.list_keys(account_id), key=lambda k: k.get("created_at") or "",
                    reverse=True)
    return visit.render("keys.html", keys=sliced(visit, listed), issued=issued,
                        done=visit.query("done"))


@page("/dashboard/keys/{key_id}/revoke", ("POST",), role="admin")
def revoke_key(visit: Visit, key_id: str) -> Response:
    # The service refuses another account's key (404), as it does for every caller.
    visit.services.container.accounts.revoke_key(visit.user.account_id, key_id, visit.now)
    return visit.redirect("/dashboard/keys?done=revoked")


# SMTP credentials

@page("/dashboard/smtp", ("GET", "POST"), role="admin", nav="SMTP")
def smtp(visit: Visit) -> Response:
    service = visit.services.container.smtp
    secret = None
    if visit.request.method == "POST":
        from chalicelib.models import SmtpCredentialCreate
        request = model(SmtpCredentialCreate, {"name": visit.field("name").strip() or None})
        secret = service.create(principal(visit), request.name, visit.now)
    return visit.render("smtp.html", credentials=sliced(visit, service.list(principal(visit))),
                        secret=secret, done=visit.query("done"))


@page("/dashboard/smtp/{credential_id}/rotate", ("POST",), role="admin")
def rotate_smtp(visit: Visit, credential_id: str) -> Response:
    service = visit.services.container.smtp
    secret = service.rotate(principal(visit), credential_id, visit.now)
    return visit.render("smtp.html", credentials=sliced(visit, service.list(principal(visit))),
                        secret=secret, done="rotated")


@page("/dashboard/smtp/{credential_id}/revoke", ("POST",), role="admin")
def revoke_smtp(visit: Visit, credential_id: str) -> Response:
    visit.services.container.smtp.revoke(principal(visit), credential_id)
    return visit.redirect("/dashboard/smtp?done=revoked")


# Webhooks

def _event_types(visit: Visit) -> list[str]:
    """The ticked filter boxes; "all events" wins. The service refuses an unknown type."""
    chosen = list(dict.fromkeys(t.strip() for t in visit.fields("event_types") if t.strip()))
    if "*" in chosen:
        return ["*"]
    if not chosen:
        raise ValidationFailed("event_types: tick at least one event type, or all events",
                               details=[{"field": "event_types"}])
    return chosen


@page("/dashboard/webhooks", ("GET", "POST"), nav="Webhooks")
def webhooks(visit: Visit) -> Response:
    service = visit.services.container.webhooks
    created = None
    if visit.request.method == "POST":
        _need_admin(visit)
        from chalicelib.webhook_models import WebhookCreate
        request = model(WebhookCreate, {"url": visit.field("url").strip(),
                                        "event_types": _event_types(visit),
                                        "description": visit.field("description") or None})
        created = service.create(principal(visit), request, visit.now)
    listed = service.list_all(principal(visit)).data
    return visit.render("webhooks.html", hooks=sliced(visit, listed), created=created,
                        event_groups=WEBHOOK_EVENT_GROUPS)


@page("/dashboard/webhooks/{webhook_id}")
def webhook_detail(visit: Visit, webhook_id: str) -> Response:
    return _webhook_page(visit, webhook_id)


def _webhook_page(visit: Visit, webhook_id: str, secret: str | None = None,
                  done: str = "") -> Response:
    service = visit.services.container.webhooks
    hook = service.get(principal(visit), webhook_id)
    attempts = service.attempts(principal(visit), webhook_id).data
    return visit.render("webhook.html", hook=hook, attempts=sliced(visit, attempts),
                        secret=secret, done=done or visit.query("done"),
                        event_groups=WEBHOOK_EVENT_GROUPS)


@page("/dashboard/webhooks/{webhook_id}/test", ("POST",))
def webhook_test(visit: Visit, webhook_id: str) -> Response:
    visit.services.container.webhooks.send_test(principal(visit), webhook_id, visit.now)
    return visit.redirect(f"/dashboard/webhooks/{webhook_id}?done=test")


@page("/dashboard/webhooks/{webhook_id}/rotate", ("POST",), role="admin")
def webhook_rotate(visit: Visit, webhook_id: str) -> Response:
    rotated = visit.services.container.webhooks.rotate_secret(principal(visit), webhook_id,
                                                              visit.now)
    return _webhook_page(visit, webhook_id, secret=rotated.secret, done="rotated")


@page("/dashboard/webhooks/{webhook_id}/update", ("POST",), role="admin")
def webhook_update(visit: Visit, webhook_id: str) -> Response:
    from chalicelib.webhook_models import WebhookUpdate
    fields: dict[str, object]
    if visit.field("enabled") in ("true", "false"):  # the disable / re-enable button
        fields = {"enabled": visit.field("enabled") == "true"}
    else:  # the event filter form
        fields = {"event_types": _event_types(visit)}
    request = model(WebhookUpdate, fields)
    visit.services.container.webhooks.update(principal(visit), webhook_id, request)
    return visit.redirect(f"/dashboard/webhooks/{webhook_id}?done=saved")


@page("/dashboard/webhooks/{webhook_id}/delete", ("POST",), role="admin")
def webhook_delete(visit: Visit, webhook_id: str) -> Response:
    visit.services.container.webhooks.delete(principal(visit), webhook_id)
    return visit.redirect("/dashboard/webhooks")


def _need_admin(visit: Visit) -> None:
    from chalicelib.errors import Forbidden
    if not visit.user.at_least("admin"):
        raise Forbidden("this needs the admin role")
