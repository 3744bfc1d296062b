"""The one place adapters and services are built: lazily, once per warm Lambda.

It only constructs and passes named collaborators; what they do lives in their modules.
The ``Container`` is read by capability, one section a module: ``storage`` (the table,
stores, queues, S3, KMS, keys), ``sending``, ``tracking`` (events, opens and clicks, the
log, webhooks), ``letters``, ``accounts`` (retention, privacy, the API edge), ``domains``
(and SMTP), ``marketing``; ``parts`` holds the clients and the types sections share. Tests
and local mode call ``reset()`` after changing the environment, or ``use()`` to swap in a
fake; nothing else constructs a boto3 client.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.config import get_settings
from chalicelib.wiring.accounts import AccountParts
from chalicelib.wiring.domains import DomainParts
from chalicelib.wiring.letters import LetterParts
from chalicelib.wiring.marketing import MarketingParts
from chalicelib.wiring.sending import SendingParts
from chalicelib.wiring.tracking import TrackingParts

if TYPE_CHECKING:
    from chalicelib.api.dashboard.services import Dashboard


class Container(SendingParts, TrackingParts, LetterParts, AccountParts, DomainParts,
                MarketingParts):
    @cached_property
    def dashboard(self) -> Dashboard:
        from chalicelib.api.dashboard.services import Dashboard
        return Dashboard(self)


_container: Container | None = None


def container() -> Container:
    global _container
    if _container is None:
        _container = Container(get_settings())
    return _container


def reset() -> None:
    """Forget every client and service; the next call rebuilds from the environment."""
    global _container
    _container = None
    get_settings.cache_clear()


def use(**overrides: Any) -> Container:
    """Replace built pieces (``use(email_sender=fake)``): the seam tests swap fakes through."""
    built = container()
    for name in [n for n in built.__dict__ if n not in ("settings", "_clients")]:
        del built.__dict__[name]  # services built before the swap would keep the old piece
    built.__dict__.update(overrides)
    return built
