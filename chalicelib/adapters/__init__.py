"""Adapters: the only code that touches boto3, HTTP or DNS."""
