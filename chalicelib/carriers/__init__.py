"""Carrier adapters: one interface, pure request builders and response parsers per carrier,
and one HTTP layer (``http.py``) that the tests replace with ``responses``."""
