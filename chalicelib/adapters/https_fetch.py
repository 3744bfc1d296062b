"""Fetching SNS signing certificates over https (stdlib only: nothing extra in the Lambda)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from chalicelib.errors import Forbidden, RetryableFailure

# The URL local mode's simulator names; production never trusts it, since AWS serves no
# such certificate there. Its host and path pass the SNS URL check on purpose.
LOCAL_CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-000010ca1.pem"


def fetch_certificate(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - https only
            return bytes(response.read(65536))
    except urllib.error.HTTPError as err:
        raise Forbidden("SNS signing certificate could not be fetched") from err
    except (urllib.error.URLError, TimeoutError) as err:
        raise RetryableFailure("SNS signing certificate fetch failed") from err


def local_or_fetch(local_cert: Path | None) -> Callable[[str], bytes]:
    """Local mode: the simulator's certificate for its URL; everything else fetched."""
    def fetch(url: str) -> bytes:
        if local_cert is not None and url == LOCAL_CERT_URL:
            return local_cert.read_bytes()
        return fetch_certificate(url)
    return fetch
