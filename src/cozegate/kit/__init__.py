"""Domain-free helpers: SSE parsing and encoding, ids, time."""
