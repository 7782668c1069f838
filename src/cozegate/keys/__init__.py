"""Gateway keys: creation (shown once), hashing, authentication with a TTL cache."""
