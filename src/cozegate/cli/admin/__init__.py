"""Admin commands (``channels``, ``users``, ``groups``, ``keys``, ``prices``, ``usage``).

They talk to a running gateway's admin API over HTTP (``--url``, ``--admin-key``), never to
the database directly, so they work the same against a local or a remote gateway.
Each module exposes ``register(app)``; ``cozegate.cli.main`` lists them.
"""
