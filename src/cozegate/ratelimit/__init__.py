"""Requests-per-minute limits per key and API class (in-memory or Redis)."""
