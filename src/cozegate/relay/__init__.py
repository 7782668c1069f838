"""The OpenAI-compatible relay: ``/v1/chat/completions``, ``/v1/models``, legacy billing."""
