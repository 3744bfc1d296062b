"""/v1/domains"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.api.routes import blueprint_api
from chalicelib.api.web import Call, ERROR

if TYPE_CHECKING:
    from chalicelib.models import Deleted, DomainOut, DomainPage


api = blueprint_api(__name__)
TAGS = ("domains",)


@api.operation("POST", "/v1/domains", summary="Add a sending domain; returns its DNS records",
               body="models:DomainCreate", responses={201: "models:DomainOut", 409: ERROR},
               tags=TAGS)
def create_domain(call: Call) -> DomainOut:
    return wiring.container().domains.create_domain(call.account, call.body, utcnow())


@api.operation("GET", "/v1/domains", summary="List sending domains",
               responses={200: "models:DomainPage", 422: ERROR}, tags=TAGS)
def list_domains(call: Call) -> DomainPage:
    return wiring.container().domains.list_domains(
        call.account, call.query_int("limit", 20, 1, 100), call.query("cursor"))


@api.operation("GET", "/v1/domains/{domain_id}", summary="A sending domain and its records",
               responses={200: "models:DomainOut", 404: ERROR}, tags=TAGS)
def get_domain(call: Call, domain_id: str) -> DomainOut:
    return wiring.container().domains.get_domain(call.account, domain_id)


@api.operation("PATCH", "/v1/domains/{domain_id}", summary="Tracking defaults of a domain",
               body="models:DomainUpdate", responses={200: "models:DomainOut", 404: ERROR},
               tags=TAGS)
def update_domain(call: Call, domain_id: str) -> DomainOut:
    return wiring.container().domains.update_domain(call.account, domain_id, call.body)


@api.operation("DELETE", "/v1/domains/{domain_id}", summary="Remove a sending domain",
               responses={200: "models:Deleted", 404: ERROR}, tags=TAGS)
def delete_domain(call: Call, domain_id: str) -> Deleted:
    from chalicelib.models import Deleted
    wiring.container().domains.delete_domain(call.account, domain_id)
    return Deleted(id=domain_id)


@api.operation("POST", "/v1/domains/{domain_id}/verify",
               summary="Look the DNS records up and report each one",
               responses={200: "models:DomainOut", 404: ERROR, 503: ERROR}, tags=TAGS)
def verify_domain(call: Call, domain_id: str) -> DomainOut:
    return wiring.container().domains.verify_domain(call.account, domain_id, utcnow())


@api.operation("POST", "/v1/domains/{domain_id}/rotate-dkim",
               summary="Start a DKIM key rotation under a new selector",
               responses={200: "models:DomainOut", 404: ERROR, 409: ERROR}, tags=TAGS)
def rotate_dkim(call: Call, domain_id: str) -> DomainOut:
    return wiring.container().domains.rotate_dkim(call.account, domain_id, utcnow())
