"""cozegate: a self-hosted gateway and task service for Coze workflows and chat flows."""

__version__ = "0.1.0"
