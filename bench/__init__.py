"""Benchmark harness: fake Coze upstream, load generator and runner (see bench/README.md)."""
