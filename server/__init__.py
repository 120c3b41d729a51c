"""Tally: a Countly-compatible event ingestion and analytics server."""
