"""The one I/O seam of the Coze client: an httpx client and the mapping of its exceptions."""

from cozegate.upstream.transport.http import (
    HTTPTransport,
    Timeouts,
    map_httpx_error,
)

__all__ = ["HTTPTransport", "Timeouts", "map_httpx_error"]
