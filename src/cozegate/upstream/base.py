"""The request machinery every endpoint shares: auth, one send, error decoding, retries.

``BaseCozeClient`` knows nothing about individual endpoints. An endpoint calls
:meth:`_request` (JSON answer) or :meth:`_open_stream` (SSE answer) and says whether the call
is ``safe`` to repeat; the retry loop, the forced token refresh on 4100 and the mapping of
error bodies all happen here, once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from pydantic import ValidationError

from cozegate.protocol.coze import CozeResult
from cozegate.upstream.auth import TOKEN_PATH, Auth
from cozegate.upstream.errors import (
    AUTH_INVALID_CODE,
    CozeAPIError,
    CozeAuthError,
    CozeError,
    CozeProtocolError,
    decode_body,
    detail_logid,
)
from cozegate.upstream.retry import RetryPolicy, parse_retry_after
from cozegate.upstream.transport.http import DEFAULT_LIMITS, HTTPTransport, Timeouts

log = logging.getLogger("cozegate.upstream")

M = TypeVar("M", bound=CozeResult)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class JSONResponse:
    """A decoded JSON answer: the whole body object plus what the headers said."""

    body: dict[str, Any]
    logid: str | None
    headers: Mapping[str, str]  # httpx.Headers, or the lean client's LeanHeaders


class BaseCozeClient:
    def __init__(
        self,
        base_url: str,
        auth: Auth,
        *,
        timeouts: Timeouts | None = None,
        max_retries: int = 3,
        retry_policy: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: httpx.Limits | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """``headers`` are added to every call (e.g. a tracing id, or an emulator fault)."""
        self.auth = auth
        self.timeouts = timeouts or Timeouts()
        self.retry = retry_policy or RetryPolicy(max_retries=max_retries)
        self._http = HTTPTransport(base_url, timeouts=self.timeouts, transport=transport,
                                   limits=limits or DEFAULT_LIMITS, headers=headers)

    @property
    def base_url(self) -> str:
        return self._http.base_url

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- the two ways to call Coze -------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        safe: bool,
        budget: httpx.Timeout,
        json: object | None = None,
        params: dict[str, Any] | None = None,
    ) -> JSONResponse:
        """Send a call whose answer is a JSON body; raise the error it carries."""

        async def attempt(token: str) -> JSONResponse:
            request = self._http.build_request(
                method, path, token=token, timeout=budget, json=json, params=_query(params)
            )
            response = await self._http.send(request)
            return _decode(response, response.text)

        return await self._with_retries(attempt, method=method, path=path, safe=safe)

    async def _open_stream(
        self, path: str, *, json: object, budget: httpx.Timeout
    ) -> httpx.Response:
        """POST a streaming call; return the open response once it is known to be SSE.

        An error Coze answers before streaming (bad token, unpublished workflow, rate limit)
        comes as a JSON body and is raised here, at open time. Stream calls start runs, so
        they are never ``safe``.
        """

        async def attempt(token: str) -> httpx.Response:
            request = self._http.build_request(
                "POST", path, token=token, timeout=budget, json=json
            )
            response = await self._http.send(request, stream=True)
            try:
                content_type = response.headers.get("content-type", "")
                if "event-stream" in content_type:
                    return response
                if "json" in content_type or response.status_code >= 400:
                    text = await self._http.read_text(response)
                    _decode(response, text)
                raise CozeProtocolError(
                    f"Coze answered a stream call with content-type {content_type!r}"
                )
            except BaseException:
                await response.aclose()
                raise

        return await self._with_retries(attempt, method="POST", path=path, safe=False)

    async def _exchange_token(
        self, sign: Callable[[], str], body: dict[str, Any]
    ) -> dict[str, Any]:
        """The OAuth token request: a fresh JWT per attempt (each JWT is single-use).

        Minting twice is harmless, so it is retried like a read.
        """
        attempt_no = 0
        while True:
            request = self._http.build_request(
                "POST", TOKEN_PATH, token=sign(), timeout=self.timeouts.for_read(), json=body
            )
            try:
                response = await self._http.send(request)
                return _decode(response, response.text).body
            except CozeError as exc:
                retry = not isinstance(exc, CozeAuthError) and self.retry.should_retry(
                    exc, safe=True, attempt=attempt_no)
                if not retry:
                    failure = _token_failure(exc)
                    if failure is exc:
                        raise
                    raise failure from exc
                await self._backoff(exc, attempt_no, "POST", TOKEN_PATH)
                attempt_no += 1

    # --- retry loop ----------------------------------------------------------------------

    async def _with_retries(
        self, attempt: Callable[[str], Awaitable[T]], *, method: str, path: str, safe: bool
    ) -> T:
        retries = 0
        refreshed = False
        while True:
            token = await self.auth.token(self._exchange_token)
            try:
                return await attempt(token)
            except CozeAuthError as exc:
                # 4100 means the token was refused before any work began, so even a run is
                # safe to send again, once, with a freshly minted token.
                if exc.code == AUTH_INVALID_CODE and self.auth.refreshable and not refreshed:
                    refreshed = True
                    log.info("coze %s %s: token rejected (4100), refreshing once", method, path)
                    await self.auth.invalidate(token)
                    continue
                raise
            except CozeError as exc:
                if not self.retry.should_retry(exc, safe=safe, attempt=retries):
                    raise
                await self._backoff(exc, retries, method, path)
                retries += 1

    async def _backoff(self, exc: CozeError, retries: int, method: str, path: str) -> None:
        delay = self.retry.delay(retries, exc)
        log.warning(
            "coze %s %s failed (%s: %s); retry %d/%d in %.2fs",
            method, path, type(exc).__name__, exc, retries + 1, self.retry.max_retries, delay,
        )
        await asyncio.sleep(delay)


def _token_failure(exc: CozeError) -> CozeError:
    """A failed token exchange: Coze's refusals become auth errors; transport errors stay."""
    if isinstance(exc, CozeAPIError) and not isinstance(exc, CozeAuthError):
        return CozeAuthError(exc.code, f"OAuth token exchange failed: {exc.msg}",
                             logid=exc.logid, http_status=exc.http_status,
                             oauth_error="token_exchange_failed")
    return exc


def _decode(response: httpx.Response, text: str) -> JSONResponse:
    logid = response.headers.get("x-tt-logid")
    body = decode_body(
        text,
        http_status=response.status_code,
        logid=logid,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )
    return JSONResponse(body=body, logid=logid or detail_logid(body), headers=response.headers)


def _query(params: dict[str, Any] | None) -> dict[str, str | int] | None:
    """Drop ``None`` values and spell booleans as Coze expects (``true``/``false``)."""
    if params is None:
        return None
    query: dict[str, str | int] = {}
    for key, value in params.items():
        if value is None:
            continue
        query[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return query


def compact(body: dict[str, Any]) -> dict[str, Any]:
    """Drop top-level ``None`` values from a request body, as cozepy does."""
    return {key: value for key, value in body.items() if value is not None}


def validate(model: type[M], payload: Any, **extra: Any) -> M:
    """Build a result model from a payload plus ``extra`` fields (``logid``, ``raw``), mapping
    a shape mismatch to the client's error tree."""
    if not isinstance(payload, dict):
        raise CozeProtocolError(f"unexpected {model.__name__} payload from Coze: {payload!r:.200}")
    try:
        return model.model_validate({**payload, **extra})
    except ValidationError as exc:
        raise CozeProtocolError(f"unexpected {model.__name__} from Coze: {exc}") from exc
