"""The small HTML pages recipients see (unsubscribe, preferences, confirmation)."""

from __future__ import annotations

import html

from chalice.app import Response


def recipient_page(title: str, body: str, status: int = 200) -> Response:
    page = (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width'><title>{html.escape(title)}"
            f"</title></head><body style='font-family:sans-serif;max-width:32em;margin:4em auto'>"
            f"<h1>{html.escape(title)}</h1>{body}</body></html>")
    return Response(body=page, status_code=status,
                    headers={"Content-Type": "text/html; charset=utf-8",
                             "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                             "X-Robots-Tag": "noindex"})
