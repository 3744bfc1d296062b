"""Route blueprints. Each module owns a Blueprint and an ``Api`` that documents it."""

from __future__ import annotations

from chalice.app import Blueprint

from chalicelib import wiring
from chalicelib.api.web import Api, Edge


def edge() -> Edge:
    return wiring.container().edge


def blueprint_api(name: str) -> Api:
    return Api(Blueprint(name), edge)
