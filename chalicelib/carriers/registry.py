"""Which carriers this deployment can use, built from the carrier secret, and which one a
letter gets when it asks for ``auto``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib.carriers.base import Carrier
from chalicelib.errors import ValidationFailed

# ``auto``: the first configured carrier in this order.
DOMESTIC_US = ("usps", "fedex", "dhl", "sandbox")
INTERNATIONAL = ("dhl", "fedex", "sandbox")


class Carriers:
    def __init__(self, secret: Callable[[], bytes] | None, base_urls: dict[str, str],
                 sandbox: Carrier | None = None) -> None:
        self._secret = secret
        self._base_urls = base_urls
        self._built: dict[str, Carrier] = {"sandbox": sandbox} if sandbox else {}
        self._credentials: dict[str, Any] | None = None

    def _all_credentials(self) -> dict[str, Any]:
        if self._credentials is None:
            raw = self._secret() if self._secret else b"{}"
            try:
                parsed = json.loads(raw or b"{}")
            except ValueError:
                parsed = {}
            self._credentials = parsed if isinstance(parsed, dict) else {}
        return self._credentials

    def configured(self) -> list[str]:
        names = [n for n in ("usps", "fedex", "dhl") if self._all_credentials().get(n)]
        return names + (["sandbox"] if "sandbox" in self._built else [])

    def get(self, name: str) -> Carrier:
        if name not in self._built:
            credentials = self._all_credentials().get(name)
            if not credentials:
                raise ValidationFailed(f"carrier {name} is not configured in this deployment",
                                       details=[{"field": "carrier"}])
            from chalicelib.carriers.dhl import Dhl
            from chalicelib.carriers.fedex import FedEx
            from chalicelib.carriers.http import CarrierHttp
            from chalicelib.carriers.usps import Usps
            http = CarrierHttp(name, self._base_urls[name])
            built: Carrier = (Usps(credentials, http) if name == "usps"
                              else FedEx(credentials, http) if name == "fedex"
                              else Dhl(credentials, http))
            self._built[name] = built
        return self._built[name]

    def choose(self, requested: str, to_country: str, from_country: str) -> str:
        configured = self.configured()
        if requested != "auto":
            self.get(requested)  # names the problem if it is not configured
            if requested == "usps" and to_country != "US":
                raise ValidationFailed("USPS here carries letters within the US only",
                                       details=[{"field": "carrier"}])
            return requested
        order = DOMESTIC_US if to_country == from_country == "US" else INTERNATIONAL
        for name in order:
            if name in configured:
                return name
        raise ValidationFailed("no carrier in this deployment serves this destination",
                               details=[{"field": "to.country"}])
