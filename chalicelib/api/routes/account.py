"""/v1/account (settings, export, closure) and /v1/privacy (a recipient's rights)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.errors import ValidationFailed
from chalicelib.api.routes import blueprint_api
from chalicelib.api.web import Call, ERROR

if TYPE_CHECKING:
    from chalicelib.account_models import (AccountClosure, AccountExport, AccountOut,
                                           AuditList, ErasureOut, PrivacyExport)


api = blueprint_api(__name__)
ACCOUNT, PRIVACY = ("account",), ("privacy",)


@api.operation("GET", "/v1/account", summary="This account and its retention settings",
               responses={200: "account_models:AccountOut"}, tags=ACCOUNT)
def get_account(call: Call) -> AccountOut:
    return wiring.container().accounts.describe(call.account.account_id)


@api.operation("PATCH", "/v1/account", summary="Rename, or set how long recipient data is kept",
               body="account_models:AccountUpdate",
               responses={200: "account_models:AccountOut", 422: ERROR}, tags=ACCOUNT)
def update_account(call: Call) -> AccountOut:
    return wiring.container().accounts.update(call.account.account_id, call.body, utcnow())


@api.operation("DELETE", "/v1/account",
               summary="Close the account (?erase=now deletes its data at once, not in 90 days)",
               responses={200: "account_models:AccountClosure", 422: ERROR}, tags=ACCOUNT)
def close_account(call: Call) -> AccountClosure:
    erase = call.query("erase")
    if erase not in (None, "now"):
        raise ValidationFailed("erase must be 'now' or absent", details=[{"field": "erase"}])
    return wiring.container().accounts.close(call.account.account_id, utcnow(),
                                             erase_now=erase == "now")


@api.operation("GET", "/v1/account/export",
               summary="Everything this account stored, machine-readable, page by page",
               responses={200: "account_models:AccountExport", 422: ERROR}, tags=ACCOUNT)
def export_account(call: Call) -> AccountExport:
    return wiring.container().privacy.export_account(
        call.account, call.query_int("limit", 500, 1, 1000), call.query("cursor"))


@api.operation("POST", "/v1/privacy/export",
               summary="Every message, event and suppression about one address, a page of "
                       "messages at a time (cursor)",
               body="account_models:PrivacyExportRequest",
               responses={200: "account_models:PrivacyExport", 422: ERROR},
               tags=PRIVACY)
def privacy_export(call: Call) -> PrivacyExport:
    return wiring.container().privacy.export(call.account, call.body.email, utcnow(),
                                             call.body.cursor, call.body.limit)


@api.operation("POST", "/v1/privacy/erasure",
               summary="Start erasing everything about one address (a job: 202, then GET "
                       "/v1/privacy/erasure/{id}); it stays suppressed as a hash",
               body="account_models:PrivacyRequest",
               responses={202: "account_models:ErasureOut", 422: ERROR}, tags=PRIVACY)
def privacy_erasure(call: Call) -> ErasureOut:
    return wiring.container().privacy.erase(call.account, call.body.email, utcnow())


@api.operation("GET", "/v1/privacy/erasure/{erasure_id}",
               summary="An erasure job's audit record: state and what it deleted",
               responses={200: "account_models:ErasureOut", 404: ERROR}, tags=PRIVACY)
def privacy_erasure_state(call: Call, erasure_id: str) -> ErasureOut:
    return wiring.container().privacy.erasure(call.account.account_id, erasure_id)


@api.operation("GET", "/v1/privacy/audit",
               summary="The audit trail of export and erasure requests (no addresses)",
               responses={200: "account_models:AuditList"}, tags=PRIVACY)
def privacy_audit(call: Call) -> AuditList:
    return wiring.container().privacy.audit_log(call.account.account_id)
