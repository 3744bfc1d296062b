"""Which carriers this deployment can use, built from the carrier secret, and which one a
letter gets when it asks for ``auto``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from chalicelib.carriers.base import Carrier
from chalicelib.errors import ValidationFailed

# ``auto``: the first configured carrier in this order. DHL Express has no US domestic
# product, so it never carries a US→US letter.
DOMESTIC_US = ("usps", "fedex", "sandbox")
INTERNATIONAL = ("dhl", "fedex", "sandbox")


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def checked_url(setting: str, url: str, local_mode: bool) -> str:
    """A carrier URL: https, or http on loopback in local mode only (SPEC §1)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if local_mode and parts.scheme == "http" and parts.hostname in LOOPBACK:
        return url
    raise ValueError(f"LETTERBOX_{setting.upper()} must be an https URL (http only on "
                     f"loopback, in local mode), not {url!r}")


class Carriers:
    def __init__(self, secret: Callable[[], bytes] | None, base_urls: dict[str, str],
                 sandbox: Carrier | None = None, local_mode: bool = False) -> None:
        """``base_urls``: ``usps``, ``fedex``, ``dhl`` and ``dhl_tracking``, each checked."""
        self._secret = secret
        self._base_urls = {name: checked_url(f"{name}_url" if name == "dhl_tracking"
                                             else f"{name}_base_url", url, local_mode)
                           for name, url in base_urls.items() if url}
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
                              else Dhl(credentials, http,
                                       self._base_urls.get("dhl_tracking", "")))
            self._built[name] = built
        return self._built[name]

    def choose(self, requested: str, to_country: str, from_country: str) -> str:
        configured = self.configured()
        if requested != "auto":
            self.get(requested)  # names the problem if it is not configured
            if requested == "usps" and to_country != "US":
                raise ValidationFailed("USPS here carries letters within the US only",
                                       details=[{"field": "carrier"}])
            if requested == "dhl" and to_country == from_country == "US":
                raise ValidationFailed("DHL Express carries no letters within the US",
                                       details=[{"field": "carrier"}])
            return requested
        order = DOMESTIC_US if to_country == from_country == "US" else INTERNATIONAL
        for name in order:
            if name in configured:
                return name
        raise ValidationFailed("no carrier in this deployment serves this destination",
                               details=[{"field": "to.country"}])
