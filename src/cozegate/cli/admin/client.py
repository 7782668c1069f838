"""A small synchronous client of the admin API that turns every failure into a CliFailure.

Exit codes follow docs/cli.md: 2 when the request itself is wrong (bad option value, or the
gateway answered 400: validation), 3 when the other side refused it or could not be reached
(401/403/404/409/5xx, connection errors).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx

from cozegate.cli.common import CliFailure, ExitCode
from cozegate.cli.gateway_http import GatewayHTTP

ADMIN_PREFIX = "/api/admin"
TIMEOUT = httpx.Timeout(60.0, connect=10.0)  # a channel test may wait on Coze for up to 30 s


class AdminClient(GatewayHTTP):
    key_hint = "--admin-key / COZEGATE_ADMIN_KEY"

    def __init__(self, url: str, admin_key: str, *,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(url, admin_key, prefix=ADMIN_PREFIX, timeout=TIMEOUT,
                         transport=transport)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._json(self._send("GET", path, params=_clean(params)))

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return self._json(self._send("POST", path, json=body))

    def put(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._json(self._send("PUT", path, json=body))

    def patch(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._json(self._send("PATCH", path, json=body))

    def delete(self, path: str) -> None:
        self._send("DELETE", path)

    @contextmanager
    def stream(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[
            Iterator[str]]:
        """The response body as text chunks (CSV export), checked for errors first."""
        request = self._http.build_request("GET", path, params=_clean(params))
        try:
            response = self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        try:
            if response.status_code >= 400:
                response.read()
                raise self._refusal(response)
            yield response.iter_text()
        except httpx.HTTPError as exc:
            raise CliFailure(f"the gateway's answer broke off: {exc}", ExitCode.UPSTREAM) from exc
        finally:
            response.close()

    def _hint(self, status: int, code: str) -> str:
        if code == "admin_required":
            return " (this key's user is not an admin)"
        return super()._hint(status, code)


def path_part(value: str) -> str:
    """A user-typed value (price target) made safe as URL path segments; ``/`` is kept."""
    return quote(value, safe="/")



def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if params is None else {k: v for k, v in params.items() if v is not None}
