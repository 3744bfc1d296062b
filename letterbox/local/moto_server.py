"""moto's server for ``make dev``, with DynamoDB's atomicity: DynamoDB applies each request
(an ``ADD``, a conditional write) atomically, but moto's backend reads, changes and writes
Python objects, so two concurrent requests on one item can lose an update. Local mode
answers concurrent clients, so DynamoDB requests are applied one at a time here; every
other service stays concurrent."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

_DYNAMODB = threading.Lock()


def serialized_dynamodb(app: Callable[..., Iterable[bytes]]) -> Callable[..., Any]:
    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB_"):
            with _DYNAMODB:
                return list(app(environ, start_response))
        return app(environ, start_response)
    return wsgi


def main(host: str, port: int) -> None:
    from moto.moto_server.werkzeug_app import (DomainDispatcherApplication, MotoRequestHandler,
                                               create_backend_app)
    from werkzeug.serving import run_simple

    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, serialized_dynamodb(app), threaded=True,
               request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
