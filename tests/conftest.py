"""Shared fixtures. Emulator fixtures live in tests/fixtures_emulator.py (plugged in below)."""

import warnings

# cozepy 0.20.0 (the judge on Coze paths, pinned) imports authlib.jose, which authlib
# deprecates through a warnings filter of its own set to "always", added when
# authlib.deprecate is first imported: so that comes first here, then "ignore" in front of
# it, then cozepy, once. Nothing of ours to fix, and the line would sit in every run's
# summary, hiding warnings that are ours. The filters are restored afterwards.
with warnings.catch_warnings():
    import authlib.deprecate  # noqa: F401
    warnings.simplefilter("ignore")
    import cozepy  # noqa: F401

pytest_plugins = ["tests.fixtures_emulator", "tests.fixtures_db", "tests.fixtures_gateway"]
