"""What every capability page shares: the signed-in user as an API principal, pagination
and the form parsing the services' own pydantic models check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ValidationFailed

if TYPE_CHECKING:
    from pydantic import BaseModel

    from chalicelib.accounts import Principal
    from chalicelib.api.dashboard.frame import Visit

PAGE_SIZE = 20


def principal(visit: Visit) -> Principal:
    """The user acts for their account with the full scope; audit trails name the user."""
    from chalicelib.accounts import Principal
    return Principal(account_id=visit.user.account_id, key_id=f"dashboard:{visit.user.user_id}",
                     scope="full")


def model(ref: type[BaseModel], data: dict[str, Any]) -> Any:
    """A form checked by the same model the API checks: one set of rules."""
    from pydantic import ValidationError

    from chalicelib.validation import error_fields
    try:
        return ref.model_validate(data)
    except ValidationError as err:
        details = error_fields(err.errors())
        raise ValidationFailed(f"{details[0]['field']}: {details[0]['message']}",
                               details) from err


@dataclass(frozen=True)
class Slice:
    """One page of a list the service returns whole (keys, users, attempts, …)."""

    items: list[Any]
    page: int
    pages: int

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


def sliced(visit: Visit, items: list[Any], size: int = PAGE_SIZE) -> Slice:
    raw = visit.query("page") or "1"
    if not raw.isdigit() or int(raw) < 1:
        raise ValidationFailed("page must be a whole number from 1",
                               details=[{"field": "page"}])
    pages = max(1, -(-len(items) // size))
    page = min(int(raw), pages)
    return Slice(items[(page - 1) * size: page * size], page, pages)


def cursor_of(visit: Visit) -> str | None:
    return visit.query("cursor") or None
