"""The Coze-compatible API on the gateway: Coze's paths and wire format, with a gateway key.

Code written against Coze's SDKs (cozepy) points its base URL at cozegate and keeps working,
gaining keys, rate limits, billing, usage logs and a run history. See docs/coze-api.md.

Layout: ``endpoints/`` (thin HTTP, one module per group) → ``workflows``, ``chat``,
``history``, ``catalog``, ``conversations`` (one service per group) → ``gate`` (admission,
metering, failover), ``relaying``/``tally`` (streams), ``ownership`` (who may use an id),
``routing`` (which channel), ``input_schemas``/``inputs`` (optional input validation),
``async_runs`` (settling ``is_async`` runs). ``surface.CozeSurface`` wires them.
"""
