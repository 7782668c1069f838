"""What every CLI client of a cozegate gateway shares: one httpx client with the bearer key,
requests whose failures become :class:`CliFailure` with docs/cli.md's exit codes (2 when the
request itself is wrong — the gateway answered 400 — and 3 when it was refused or the
gateway could not be reached), and JSON decoding with a clear message."""

from __future__ import annotations

from typing import Any, Self
from urllib.parse import quote

import httpx

from cozegate.cli.common import CliFailure, ExitCode


class GatewayHTTP:
    """Base of the admin and task API clients; ``key_hint`` names the option to fix a 401."""

    key_hint = "--key"

    def __init__(self, url: str, key: str, *, prefix: str, timeout: httpx.Timeout,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url + prefix, timeout=timeout,
                                  headers={"Authorization": f"Bearer {key}"},
                                  transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        if response.status_code >= 400:
            raise self._refusal(response)
        return response

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise CliFailure(f"the gateway at {self.url} answered {response.status_code} with "
                             "something that is not JSON: is --url a cozegate gateway?",
                             ExitCode.UPSTREAM) from exc

    def _unreachable(self, exc: httpx.HTTPError) -> CliFailure:
        return CliFailure(f"cannot reach the gateway at {self.url}: {exc or type(exc).__name__} "
                          "(is `cozegate serve` running? set --url or COZEGATE_URL)",
                          ExitCode.UPSTREAM)

    def _refusal(self, response: httpx.Response) -> CliFailure:
        status = response.status_code
        try:
            error = response.json().get("error") or {}
        except ValueError:
            error = {}
        code = error.get("code") or f"http_{status}"
        message = error.get("message") or response.text[:200] or response.reason_phrase
        exit_code = ExitCode.USAGE if status in (400, 422) else ExitCode.UPSTREAM
        return CliFailure(f"{status} {code}: {message}{self._hint(status, code)}", exit_code)

    def _hint(self, status: int, code: str) -> str:
        return f" (check {self.key_hint})" if status == 401 else ""


def segment(value: str) -> str:
    """A user-typed name made safe as one URL path segment."""
    return quote(value, safe="")
