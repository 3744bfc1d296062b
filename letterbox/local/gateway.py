"""``chalice local``'s server, answering unknown routes in our error contract.

API Gateway answers an unknown route with 403 "Missing Authentication Token" (or, when an
Authorization header is present, an incomplete-signature 403); production maps both to our
404 through GatewayResponses in infra/, and this handler does the same locally.
"""

from __future__ import annotations

import json

from chalice.local import ChaliceRequestHandler, LocalGatewayException

NOT_FOUND = json.dumps({"error": {"code": "not_found", "message": "no such route"}}).encode()
NOT_ALLOWED = json.dumps({"error": {"code": "method_not_allowed",
                                    "message": "no route takes this method"}}).encode()


class LetterboxRequestHandler(ChaliceRequestHandler):
    def _send_error_response(self, error: LocalGatewayException) -> None:
        # Both bodies come only from the unmatched-route branch (we use no IAM auth).
        body = error.body or b""
        if error.CODE == 403 and (b"Missing Authentication Token" in body
                                  or b"Authorization header requires" in body):
            self._send_http_response(404, {"Content-Type": "application/json"}, NOT_FOUND)
            return
        super()._send_error_response(error)

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """A method no route declares (TRACE, CONNECT…): http.server's 501 HTML page becomes
        our 405; other protocol errors keep http.server's answer."""
        if code == 501:
            self._send_http_response(405, {"Content-Type": "application/json"}, NOT_ALLOWED)
            return
        super().send_error(code, message, explain)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # One line per request, without the query string (tokens may ride in it).
        print(f"{self.command} {self.path.split('?', 1)[0]} -> {code}", flush=True)
