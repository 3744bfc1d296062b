"""Marketing: contacts, segments, topics, imports, broadcasts, the preference page."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.wiring.storage import StorageParts

if TYPE_CHECKING:
    from chalicelib.audiences import AudienceService
    from chalicelib.broadcast_sender import BroadcastSender
    from chalicelib.broadcasts import BroadcastService
    from chalicelib.contacts import ContactService
    from chalicelib.marketing_models import ContactOut
    from chalicelib.preferences import PreferenceService


class MarketingParts(StorageParts):
    @cached_property
    def contacts(self) -> ContactService:
        from chalicelib.contacts import ContactService
        return ContactService(self.marketing_store, self.tokens, self.emails, self.templates,
                              self.webhooks.publish, self.settings.public_base_url)

    def contact_states(self, account_id: str, contacts: list[ContactOut]) -> list[ContactOut]:
        """The contacts with their effective state (``contacts.with_states``: suppressed when
        their address is on the suppression list), one batched lookup for the lot."""
        from chalicelib.contacts import with_states
        return with_states(self.suppressions, account_id, contacts)

    @cached_property
    def audiences(self) -> AudienceService:
        from chalicelib.audiences import AudienceService
        return AudienceService(self.marketing_store, self.contacts, self.content,
                               self.marketing_queue)

    @cached_property
    def preferences(self) -> PreferenceService:
        from chalicelib.preferences import PreferenceService
        return PreferenceService(self.tokens, self.contacts, self.marketing_store)

    @cached_property
    def broadcasts(self) -> BroadcastService:
        from chalicelib.broadcasts import BroadcastService
        return BroadcastService(self.marketing_store, self.templates, self.marketing_queue)

    @cached_property
    def broadcast_sender(self) -> BroadcastSender:
        from chalicelib.broadcast_sender import BroadcastSender
        tokens, base_url = self.tokens, self.settings.public_base_url

        def unsubscribe_url(account_id: str, broadcast_id: str, address: str) -> str:
            """The same preference page as List-Unsubscribe's, for a link in the body."""
            return f"{base_url}/u/" + tokens.seal("unsubscribe", {
                "a": account_id, "m": broadcast_id,
                "h": tokens.address_hash(account_id, address)})
        return BroadcastSender(self.marketing_store, self.emails, self.suppressions,
                               self.templates, self.marketing_queue, self.logs, unsubscribe_url)
