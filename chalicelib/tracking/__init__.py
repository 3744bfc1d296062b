"""Tracking: everything after SES has a message (SES/SNS events, opens, clicks, unsubscribes,
and the suppressions and pauses they cause)."""
