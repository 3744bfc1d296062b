"""Physical mail: carriers, the letter store, printing, submission and tracking."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.wiring.storage import StorageParts

if TYPE_CHECKING:
    from chalicelib.adapters.letter_store import DynamoLetterStore
    from chalicelib.addresses import AddressService
    from chalicelib.carriers.registry import Carriers
    from chalicelib.physical_mail import LetterService, LetterSubmitter, LetterTracker, Printer


class LetterParts(StorageParts):
    @cached_property
    def carriers(self) -> Carriers:
        from chalicelib.adapters.secrets import DeploymentSecret
        from chalicelib.carriers.registry import Carriers
        from chalicelib.carriers.sandbox import SandboxCarrier
        settings = self.settings
        secret = (DeploymentSecret(self.client("secretsmanager"),
                                   settings.carrier_secret_arn).value
                  if settings.carrier_secret_arn else None)
        carriers_file = settings.carriers_file
        if settings.local_mode and carriers_file is not None and carriers_file.exists():
            secret = carriers_file.read_bytes  # local mode: .letterbox/carriers.json
        sandbox = (SandboxCarrier(settings.sandbox_step_seconds)
                   if settings.sandbox_carrier or settings.local_mode else None)
        return Carriers(secret, {"usps": settings.usps_base_url,
                                 "fedex": settings.fedex_base_url,
                                 "dhl": settings.dhl_base_url,
                                 "dhl_tracking": settings.dhl_tracking_url}, sandbox,
                        local_mode=settings.local_mode)

    @cached_property
    def letter_store(self) -> DynamoLetterStore:
        from chalicelib.adapters.letter_store import DynamoLetterStore
        return DynamoLetterStore(self.table, self.counters, on_events=self.publish_events,
                                 retention_days=self.retention_days)

    @cached_property
    def printer(self) -> Printer | None:
        from chalicelib.adapters.printing import LocalPrinter, PartnerPrinter
        from chalicelib.tokens import PRINT_PARTNER
        if self.settings.letters_dir is not None:
            return LocalPrinter(self.settings.letters_dir)
        if self.settings.print_endpoint_url:  # its own derived key, never a root key
            return PartnerPrinter(self.settings.print_endpoint_url,
                                  self.tokens.partner_key(PRINT_PARTNER).encode(),
                                  self.tokens.current_key_id)
        return None

    @cached_property
    def letters(self) -> LetterService:
        from chalicelib.physical_mail import LetterService
        return LetterService(self.letter_store, self.content, self.letter_queue, self.carriers,
                             self.settings.letter_cancel_window_seconds,
                             can_print=self.printer is not None)

    @cached_property
    def letter_submitter(self) -> LetterSubmitter:
        from chalicelib.physical_mail import LetterSubmitter
        assert self.printer is not None, "letters are refused when nothing can print them"
        return LetterSubmitter(self.letter_store, self.content, self.carriers, self.printer)

    @cached_property
    def letter_tracker(self) -> LetterTracker:
        from chalicelib.carriers.pacing import tracking_paces
        from chalicelib.physical_mail import LetterTracker
        table = self.table

        def reserve(carrier: str, per_day: int) -> bool:
            from chalicelib.clock import utcnow
            now = utcnow()
            return table.increment(f"CARRIERQUOTA#{carrier}", now.strftime("%Y-%m-%d"), 1,
                                   per_day, now) is not None
        return LetterTracker(self.letter_store, self.carriers,
                             self.settings.tracking_requests_per_carrier,
                             tracking_paces(self.settings), reserve,
                             run_seconds=self.settings.tracking_run_seconds)

    @cached_property
    def addresses(self) -> AddressService:
        from chalicelib.addresses import AddressService
        return AddressService(self.carriers)
