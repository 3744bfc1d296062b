"""/v1/domains"""

from __future__ import annotations

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.models import (Deleted, DomainCreate, DomainOut, DomainPage, DomainUpdate,
                               ErrorBody)
from chalicelib.routes import blueprint_api
from chalicelib.web import Call

api = blueprint_api(__name__)
TAGS = ("domains",)


@api.operation("POST", "/v1/domains", summary="Add a sending domain; returns its DNS records",
               body=DomainCreate, responses={201: DomainOut, 409: ErrorBody}, tags=TAGS)
def create_domain(call: Call) -> DomainOut:
    return wiring.container().domains.create_domain(call.account, call.body, utcnow())


@api.operation("GET", "/v1/domains", summary="List sending domains",
               responses={200: DomainPage, 422: ErrorBody}, tags=TAGS)
def list_domains(call: Call) -> DomainPage:
    return wiring.container().domains.list_domains(
        call.account, call.query_int("limit", 20, 1, 100), call.query("cursor"))


@api.operation("GET", "/v1/domains/{domain_id}", summary="A sending domain and its records",
               responses={200: DomainOut, 404: ErrorBody}, tags=TAGS)
def get_domain(call: Call, domain_id: str) -> DomainOut:
    return wiring.container().domains.get_domain(call.account, domain_id)


@api.operation("PATCH", "/v1/domains/{domain_id}", summary="Tracking defaults of a domain",
               body=DomainUpdate, responses={200: DomainOut, 404: ErrorBody}, tags=TAGS)
def update_domain(call: Call, domain_id: str) -> DomainOut:
    return wiring.container().domains.update_domain(call.account, domain_id, call.body)


@api.operation("DELETE", "/v1/domains/{domain_id}", summary="Remove a sending domain",
               responses={200: Deleted, 404: ErrorBody}, tags=TAGS)
def delete_domain(call: Call, domain_id: str) -> Deleted:
    wiring.container().domains.delete_domain(call.account, domain_id)
    return Deleted(id=domain_id)


@api.operation("POST", "/v1/domains/{domain_id}/verify",
               summary="Look the DNS records up and report each one",
               responses={200: DomainOut, 404: ErrorBody, 503: ErrorBody}, tags=TAGS)
def verify_domain(call: Call, domain_id: str) -> DomainOut:
    return wiring.container().domains.verify_domain(call.account, domain_id, utcnow())


@api.operation("POST", "/v1/domains/{domain_id}/rotate-dkim",
               summary="Start a DKIM key rotation under a new selector",
               responses={200: DomainOut, 404: ErrorBody, 409: ErrorBody}, tags=TAGS)
def rotate_dkim(call: Call, domain_id: str) -> DomainOut:
    return wiring.container().domains.rotate_dkim(call.account, domain_id, utcnow())
