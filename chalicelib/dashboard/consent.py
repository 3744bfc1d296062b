"""Cookie consent: the choice in ``lb_consent``, recorded server-side as proof.

The cookie holds ``<registry version>.<categories>.<consent id>``. A choice made under an
older registry counts as no choice (the banner asks again). ``Sec-GPC: 1`` with no choice of
its own is "Reject all"; an explicit opt-in on the preference center overrides it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.clock import iso
from chalicelib.dashboard.cookies import OPTIONAL, registry_version
from chalicelib.ids import has_prefix, new_id

_CATEGORY = re.compile(r"^[a-z]+$")


@dataclass(frozen=True)
class Consent:
    categories: frozenset[str]
    decided: bool  # the user chose under the current registry
    gpc: bool
    consent_id: str | None = None

    def allows(self, category: str) -> bool:
        return category == "essential" or category in self.categories

    @property
    def show_banner(self) -> bool:
        return not self.decided and not self.gpc


def read_consent(cookie: str | None, gpc_header: str | None) -> Consent:
    gpc = (gpc_header or "").strip() == "1"
    version, _, rest = (cookie or "").partition(".")
    names, _, consent_id = rest.partition(".")
    if version != registry_version() or not has_prefix(consent_id, "cns"):
        return Consent(frozenset(), decided=False, gpc=gpc)
    chosen = {c for c in names.split("-") if _CATEGORY.match(c) and c in OPTIONAL}
    return Consent(frozenset(chosen), decided=True, gpc=gpc, consent_id=consent_id)


def cookie_value(categories: frozenset[str], consent_id: str) -> str:
    names = "-".join(c for c in OPTIONAL if c in categories) or "none"
    return f"{registry_version()}.{names}.{consent_id}"


class ConsentService:
    def __init__(self, store: Any) -> None:
        self._store = store

    def record(self, previous: Consent, categories: set[str], source: str,
               user_id: str | None, now: datetime) -> tuple[Consent, str]:
        """Store the proof (no IP) and return the new consent and its cookie value."""
        chosen = frozenset(c for c in categories if c in OPTIONAL)
        consent_id = previous.consent_id or new_id("cns")
        self._store.put_consent({"consent_id": consent_id, "created_at": iso(now),
                                 "registry_version": registry_version(),
                                 "categories": ["essential", *sorted(chosen)],
                                 "source": source, "gpc": previous.gpc,
                                 "user_id": user_id}, now)
        consent = Consent(chosen, decided=True, gpc=previous.gpc, consent_id=consent_id)
        return consent, cookie_value(chosen, consent_id)
