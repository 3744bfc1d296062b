"""A carrier stand-in on loopback that answers like the carriers' published examples (its
answers are the fixtures of tests/fixtures/carriers with this run's numbers filled in).

USPS: OAuth, Payments, Labels 3.x (flat ``vnd.usps.labels+json``) and Tracking 3.x, where a
new label answers 404 ("not yet in system") first, then in transit, then delivered.
FedEx: OAuth, Ship 1.0 and the Track 1.0 reference search, so a lost purchase can be found.
It keeps the labels it sold, by our reference: the tests count them.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "carriers"


def fixture(carrier: str, name: str) -> Any:
    return json.loads((FIXTURES / carrier / f"{name}.json").read_text())


class CarrierStandIn:
    def __init__(self) -> None:
        self.labels: dict[str, list[str]] = {}  # our reference → tracking numbers sold
        self.tracking_calls: Counter[str] = Counter()
        self.requests: list[tuple[str, str]] = []
        self.unreadable = False  # sell the label, answer without its tracking number
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _answer(self, status: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _body(self) -> Any:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    return json.loads(raw or b"{}")
                except ValueError:
                    return {}

            def do_GET(self) -> None:
                standin.requests.append(("GET", self.path))
                self._answer(*standin.get(self.path))

            def do_POST(self) -> None:
                standin.requests.append(("POST", self.path))
                self._answer(*standin.post(self.path, self._body()))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CarrierStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def sold(self) -> list[str]:
        return [number for numbers in self.labels.values() for number in numbers]

    def _sell(self, reference: str, prefix: str) -> str:
        with self._lock:
            number = f"{prefix}{len(self.sold()) + 1:04d}"
            self.labels.setdefault(reference, []).append(number)
            return number

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        path = path.split("?", 1)[0]
        if path == "/oauth2/v3/token":
            return 200, fixture("usps", "token")
        if path == "/payments/v3/payment-authorization":
            return 200, fixture("usps", "payment")
        if path == "/labels/v3/label":
            reference = body["packageDescription"]["customerReference"][0]["referenceNumber"]
            number = self._sell(reference, "920559010976990001")
            if self.unreadable:
                return 200, fixture("usps", "label_unreadable")
            return 200, {**fixture("usps", "label"), "trackingNumber": number}
        if path == "/oauth/token":
            return 200, fixture("fedex", "token")
        if path == "/ship/v1/shipments":
            item = body["requestedShipment"]["requestedPackageLineItems"][0]
            number = self._sell(item["customerReferences"][0]["value"], "79495353")
            answer = fixture("fedex", "ship")
            shipment = answer["output"]["transactionShipments"][0]
            shipment["masterTrackingNumber"] = number
            shipment["pieceResponses"][0]["trackingNumber"] = number
            return 200, answer
        if path == "/track/v1/referencenumbers":
            sold = self.labels.get(body["referencesInformation"]["value"])
            if not sold:
                return 200, fixture("fedex", "track_reference_not_found")
            answer = fixture("fedex", "track_reference")
            result = answer["output"]["completeTrackResults"][0]
            result["trackingNumber"] = sold[-1]
            result["trackResults"][0]["trackingNumberInfo"]["trackingNumber"] = sold[-1]
            return 200, answer
        return 404, {"error": {"code": "404", "message": f"no route {path}"}}

    def get(self, path: str) -> tuple[int, Any]:
        path = path.split("?", 1)[0]
        if path.startswith("/tracking/v3/tracking/"):
            number = path.rsplit("/", 1)[1]
            self.tracking_calls[number] += 1
            calls = self.tracking_calls[number]
            if number not in self.sold() or calls == 1:
                return 404, fixture("usps", "tracking_not_found")
            name = "tracking_in_transit" if calls == 2 else "tracking_delivered"
            return 200, {**fixture("usps", name), "trackingNumber": number}
        return 404, {"error": {"code": "404", "message": f"no route {path}"}}
