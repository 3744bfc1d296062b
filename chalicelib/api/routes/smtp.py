"""/v1/smtp-credentials"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.api.routes import blueprint_api
from chalicelib.api.web import Call, ERROR

if TYPE_CHECKING:
    from chalicelib.models import Deleted, SmtpCredentialList, SmtpCredentialSecret


api = blueprint_api(__name__)
TAGS = ("smtp",)


@api.operation("POST", "/v1/smtp-credentials",
               summary="Create SMTP relay credentials (the password is shown once)",
               body="models:SmtpCredentialCreate", responses={201: "models:SmtpCredentialSecret"},
               tags=TAGS)
def create_credential(call: Call) -> SmtpCredentialSecret:
    return wiring.container().smtp.create(call.account, call.body.name, utcnow())


@api.operation("GET", "/v1/smtp-credentials", summary="List SMTP credentials (no passwords)",
               responses={200: "models:SmtpCredentialList"}, tags=TAGS)
def list_credentials(call: Call) -> SmtpCredentialList:
    from chalicelib.models import SmtpCredentialList
    return SmtpCredentialList(data=wiring.container().smtp.list(call.account))


@api.operation("POST", "/v1/smtp-credentials/{credential_id}/rotate",
               summary="Replace the credential's key; the old password stops working",
               responses={200: "models:SmtpCredentialSecret", 404: ERROR}, tags=TAGS)
def rotate_credential(call: Call, credential_id: str) -> SmtpCredentialSecret:
    return wiring.container().smtp.rotate(call.account, credential_id, utcnow())


@api.operation("DELETE", "/v1/smtp-credentials/{credential_id}",
               summary="Revoke SMTP credentials", responses={200: "models:Deleted", 404: ERROR},
               tags=TAGS)
def revoke_credential(call: Call, credential_id: str) -> Deleted:
    from chalicelib.models import Deleted
    wiring.container().smtp.revoke(call.account, credential_id)
    return Deleted(id=credential_id)
