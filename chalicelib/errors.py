"""The one error hierarchy. ``chalicelib.api.web`` maps it to HTTP in one place."""

from __future__ import annotations

from typing import Any


class LetterboxError(Exception):
    """A failure the caller can act on; ``code`` is part of the public API."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}

    def to_body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class ValidationFailed(LetterboxError):
    status = 422
    code = "validation_error"


class MalformedRequest(LetterboxError):
    status = 400
    code = "validation_error"


class Unauthorized(LetterboxError):
    status = 401
    code = "unauthorized"


class Forbidden(LetterboxError):
    status = 403
    code = "forbidden"


class NotFound(LetterboxError):
    status = 404
    code = "not_found"


class MethodNotAllowed(LetterboxError):
    status = 405
    code = "method_not_allowed"


class Conflict(LetterboxError):
    status = 409
    code = "conflict"


class PayloadTooLarge(LetterboxError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(LetterboxError):
    status = 415
    code = "unsupported_media_type"


class DomainNotVerified(LetterboxError):
    status = 422
    code = "domain_not_verified"


class AccountPaused(LetterboxError):
    status = 403
    code = "account_paused"


class AccountClosed(LetterboxError):
    status = 403
    code = "account_closed"


class RateLimited(LetterboxError):
    status = 429
    code = "rate_limited"


class ServiceUnavailable(LetterboxError):
    """A dependency is down or throttling; the same request may succeed shortly."""

    status = 503
    code = "service_unavailable"


class InternalError(LetterboxError):
    status = 500
    code = "internal_error"


class RetryableFailure(Exception):
    """The one "try again later": a dependency failed in a way a retry may fix (throttling,
    5xx, a claim another attempt holds). ``retry_after``: seconds, when the other side said.
    The API answers it with 503 and Retry-After; a queue record goes back with a backoff."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """The one "give up": the work was refused for good; retrying cannot help."""


class OutcomeUnknown(Exception):
    """A call that may or may not have taken effect (its answer timed out): never repeat it."""
