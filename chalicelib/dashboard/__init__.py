"""The customer portal under ``/dashboard``: server-rendered pages on the same Chalice app.

``frame`` holds the reusable page mechanism (auth, roles, CSRF, consent, rendering);
``cookies`` the one cookie registry; the services (users, sessions, consent, analytics,
notices) hold the rules; ``adapters/dashboard_store.py`` the storage.
"""
