"""Route blueprints. Each module owns a Blueprint and an ``Api`` that documents it."""

from __future__ import annotations

from chalice.app import Blueprint

from chalicelib import wiring
from chalicelib.accounts import Principal
from chalicelib.web import Api


def authenticate(header: str | None) -> Principal:
    return wiring.container().accounts.authenticate(header)


def blueprint_api(name: str) -> Api:
    return Api(Blueprint(name), authenticate)
