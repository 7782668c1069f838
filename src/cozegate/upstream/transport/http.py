"""The HTTP layer: one connection pool per upstream account, errors mapped once.

Calls to an ``http(s)://`` base URL go through :mod:`~cozegate.upstream.transport.lean`
(a small keep-alive HTTP/1.1 client: the request path's cost per call); a custom httpx
transport (tests, the in-process emulator) or a proxy in the environment selects an
``httpx.AsyncClient`` instead. Both raise httpx's exceptions.

This is the only module that catches httpx exceptions. Each is turned into the client's own
tree (``errors.py``) with one fact the retry policy needs: whether the request may have reached
Coze (``sent``). Only a failed connect, a connect timeout or a pool timeout prove it did not.
Tests swap the ``transport`` (the httpx seam) to count or inspect real traffic.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from cozegate.kit import jsonfast
from cozegate.upstream.errors import (
    CozeConnectError,
    CozeStreamError,
    CozeStreamTimeoutError,
    CozeTimeoutError,
    CozeTransportError,
)
from cozegate.upstream.transport.lean import LeanPool, LeanRequest, LeanResponse

USER_AGENT = "cozegate/0.1.0"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. Each kind of call gets the read budget it needs, not one global number."""

    connect: float = 5.0
    run: float = 600.0  # a sync run or resume: Coze answers only when the workflow ends
    read: float = 30.0  # metadata, history, lists, conversations
    stream_idle: float = 300.0  # longest silence between bytes of an open event stream
    write: float = 30.0
    pool: float = 30.0  # waiting for a free pooled connection

    def for_run(self) -> httpx.Timeout:
        return self._with_read(self.run)

    def for_read(self) -> httpx.Timeout:
        return self._with_read(self.read)

    def for_stream(self) -> httpx.Timeout:
        # httpx's read timeout bounds each socket read, i.e. the silence between bytes,
        # which is exactly the idle timeout a stream needs (also covers the first byte).
        return self._with_read(self.stream_idle)

    def _with_read(self, read: float) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=read, write=self.write, pool=self.pool)


# Many long-lived streams per account are normal for a gateway; idle sockets are few.
DEFAULT_LIMITS = httpx.Limits(
    # Each open stream holds one connection for its whole length (HTTP/1.1): the cap is the
    # number of calls in flight per account, so it must exceed the streams one process
    # holds at once (the bench holds 2,000); past it, calls wait for a slot (pool timeout).
    max_connections=10_000, max_keepalive_connections=64, keepalive_expiry=30
)


Request = httpx.Request | LeanRequest
Response = httpx.Response | LeanResponse

_SAFE_PATH = "/%:@!$&'()*+,;=-._~"


def lean_supported(url: httpx.URL) -> bool:
    """True unless the URL is not http(s) or a proxy from the environment applies (httpx
    honours HTTP(S)_PROXY / ALL_PROXY / NO_PROXY; the lean client does not do proxies)."""
    if url.scheme not in ("http", "https"):
        return False
    proxies = urllib.request.getproxies()
    if not (proxies.get(url.scheme) or proxies.get("all")):
        return True
    return bool(urllib.request.proxy_bypass(url.host))


class HTTPTransport:
    """Owns the connection pool for one base URL; sends requests with errors mapped."""

    def __init__(
        self,
        base_url: str,
        *,
        timeouts: Timeouts,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        default_headers = {"User-Agent": USER_AGENT, **(headers or {})}
        url = httpx.URL(self.base_url)
        self._lean: LeanPool | None = None
        self._client: httpx.AsyncClient | None = None
        if transport is None and lean_supported(url):
            self._prefix = url.path.rstrip("/")
            self._lean = LeanPool(url, limits=limits,
                                  headers=[("Accept", "*/*"), *default_headers.items()])
            return
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeouts.for_read(),
            limits=limits,
            transport=transport,
            http1=True,
            http2=False,
            headers=default_headers,
            # Coze never redirects API calls; following one could replay a run elsewhere.
            follow_redirects=False,
        )

    @property
    def is_closed(self) -> bool:
        if self._lean is not None:
            return self._lean.is_closed
        assert self._client is not None
        return self._client.is_closed

    def build_request(
        self,
        method: str,
        path: str,
        *,
        token: str,
        timeout: httpx.Timeout,
        json: object | None = None,
        params: dict[str, str | int] | None = None,
    ) -> Request:
        headers = {"Authorization": f"Bearer {token}"}
        if self._lean is not None:
            target = quote(self._prefix + path, safe=_SAFE_PATH)
            if params:
                target += "?" + urlencode(params)
            content = b""
            if json is not None:
                content = _json_bytes(json)
                headers["Content-Type"] = "application/json"
            return LeanRequest(method, target, list(headers.items()), content, timeout)
        assert self._client is not None
        if json is None:
            return self._client.build_request(
                method, path, params=params, headers=headers, timeout=timeout
            )
        return self._client.build_request(
            method, path, params=params, headers=headers, timeout=timeout, json=json
        )

    async def send(self, request: Request, *, stream: bool = False) -> Any:
        """Send; with ``stream`` the body is left unread (the caller must close the response).

        The response is an ``httpx.Response`` or, on the lean path, a ``LeanResponse`` with
        the same ``status_code`` / ``headers`` / ``text`` / ``aiter_bytes`` / ``aread`` /
        ``aclose``."""
        try:
            if isinstance(request, LeanRequest):
                assert self._lean is not None
                response = await self._lean.send(request)
                if not stream:
                    await response.aread()
                return response
            assert self._client is not None
            return await self._client.send(request, stream=stream)
        except httpx.HTTPError as exc:
            raise map_httpx_error(exc, request) from exc
        except Exception as exc:
            # A custom transport (e.g. httpx.ASGITransport around an in-process emulator)
            # re-raises its app's own exceptions. Whatever it was, the request may have been
            # processed, so it is a sent transport failure, never retried for a run.
            raise CozeTransportError(
                f"transport failed {_where(request)}: {type(exc).__name__}: {exc}"
            ) from exc

    async def read_text(self, response: Response) -> str:
        """Read a (streamed) response body fully, with errors mapped."""
        try:
            await response.aread()
        except httpx.HTTPError as exc:
            raise map_httpx_error(exc, response.request) from exc
        except Exception as exc:  # see send()
            raise CozeTransportError(f"transport failed: {type(exc).__name__}: {exc}") from exc
        return response.text

    async def aclose(self) -> None:
        if self._lean is not None:
            await self._lean.aclose()
        if self._client is not None:
            await self._client.aclose()


def _json_bytes(value: object) -> bytes:
    # As httpx encodes a json= body (compact, UTF-8).
    return jsonfast.dumps(value)


def map_httpx_error(
    exc: httpx.HTTPError, request: Request | None = None
) -> CozeTransportError:
    """Translate an httpx exception raised before or while reading a response."""
    where = _where(request)
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout | httpx.ConnectError):
        # The request was never written: no connection (or no free pooled one) was obtained.
        return CozeConnectError(f"cannot connect to Coze {where}: {_reason(exc)}")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL | httpx.LocalProtocolError):
        return CozeTransportError(f"bad request to Coze {where}: {_reason(exc)}", sent=False)
    if isinstance(exc, httpx.TimeoutException):
        return CozeTimeoutError(f"Coze did not answer in time {where}: {_reason(exc)}")
    return CozeTransportError(f"connection to Coze failed {where}: {_reason(exc)}")


def map_stream_error(
    exc: httpx.HTTPError, request: Request | None, idle: float
) -> CozeStreamError:
    """Translate an httpx exception raised while reading an open event stream's body."""
    where = _where(request)
    if isinstance(exc, httpx.TimeoutException):
        return CozeStreamTimeoutError(f"Coze stream was silent for more than {idle:g}s {where}")
    return CozeStreamError(f"Coze stream broke {where}: {_reason(exc)}")


def _where(request: Request | None) -> str:
    # Only method and path: the URL never carries a token, headers are never logged.
    return f"({request.method} {request.url.path})" if request is not None else ""


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
