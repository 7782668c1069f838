"""Coze-compatible endpoints, one module per group; ``native.router`` includes them all."""
