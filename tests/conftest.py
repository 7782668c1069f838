"""Shared fixtures. Emulator fixtures live in tests/fixtures_emulator.py (plugged in below)."""

pytest_plugins = ["tests.fixtures_emulator", "tests.fixtures_db", "tests.fixtures_gateway"]
