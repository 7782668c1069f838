"""The Coze client's exception tree, and decoding of Coze's error bodies.

Everything the client raises derives from :class:`CozeError` (itself a ``CozegateError``), so
callers catch one thing. Low-level httpx exceptions are mapped to this tree in
``transport/http.py`` and nowhere else.

Decoding follows cozepy 0.20.0's order (wire spec §1.4): a body that is not JSON becomes an
error whose code is the HTTP status; ``{"code": N>0, "msg": ...}`` is a Coze business error;
``{"error_code", "error_message"}`` is the OAuth endpoint's shape. The HTTP status alone never
makes an error when the body is a well-formed success envelope, as with cozepy.
"""

from __future__ import annotations

import json
from typing import Any

from cozegate.errors import CozegateError

# Coze codes that ask the caller to come back later: QPS limit, model RPM limit, internal
# error. Whether a call may be repeated on them is the retry policy's decision (runs: no).
RETRYABLE_CODES = frozenset({4013, 4020, 5000})
# Codes that say the credentials were rejected (token invalid/expired, or no permission).
AUTH_INVALID_CODE = 4100
PERMISSION_CODE = 4101
MAX_MESSAGE_IN_TEXT = 300


class CozeError(CozegateError):
    """Base of every error raised by the Coze client."""

    status_code = 502
    code = "upstream_error"


class CozeAPIError(CozeError):
    """Coze answered, and the answer was an error (envelope ``code>0``, OAuth error, non-JSON)."""

    # ``code`` is Coze's own integer code (as on cozepy's CozeAPIError), not the string
    # machine code other CozegateErrors carry: a Coze-shaped renderer relays it as is.
    # ``None`` for OAuth-shaped errors, whose string code is in ``oauth_error``.
    code: int | None  # type: ignore[assignment]

    def __init__(
        self,
        code: int | None,
        msg: str,
        logid: str | None = None,
        debug_url: str | None = None,
        http_status: int | None = None,
        *,
        oauth_error: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(_describe(code, msg, logid, debug_url), status_code=_gateway_status(code))
        self.code = code
        self.retry_after = retry_after  # seconds, from a Retry-After header
        self.msg = msg
        self.logid = logid
        self.debug_url = debug_url
        self.http_status = http_status
        self.oauth_error = oauth_error

    @property
    def retryable(self) -> bool:
        """True when Coze (or a proxy before it) asks to come back later."""
        if self.code in RETRYABLE_CODES:
            return True
        # HTTP 429/502/503/504: rate limit or a proxy in front of Coze that never reached it
        # (or refused to). The body may be HTML (code = status) or a Coze envelope.
        return self.http_status in (429, 502, 503, 504)


class CozeAuthError(CozeAPIError):
    """Credentials were rejected (4100 / 4101) or the OAuth token exchange failed."""


class CozeTransportError(CozeError):
    """The exchange with Coze failed below the HTTP level (connection, timeout, protocol)."""

    code = "upstream_transport_error"

    def __init__(self, message: str, *, sent: bool = True) -> None:
        super().__init__(message)
        # Whether request bytes may have reached Coze. Only ``sent=False`` makes a
        # non-idempotent call (a run) safe to retry.
        self.sent = sent


class CozeConnectError(CozeTransportError):
    """No connection could be made: the request never reached Coze."""

    code = "upstream_connect_error"

    def __init__(self, message: str) -> None:
        super().__init__(message, sent=False)


class CozeTimeoutError(CozeTransportError):
    """Coze did not answer in time (read/write timeout; connect timeouts are connect errors)."""

    status_code = 504
    code = "upstream_timeout"


class CozeStreamError(CozeTransportError):
    """An open event stream broke: idle timeout, dropped connection, EOF before the final event."""

    code = "upstream_stream_error"


class CozeStreamTimeoutError(CozeStreamError, CozeTimeoutError):
    """An open event stream stayed silent longer than the idle timeout."""

    status_code = 504
    code = "upstream_stream_timeout"


class CozeProtocolError(CozeError):
    """Coze answered with something that does not match the wire format (bad JSON shape)."""

    code = "upstream_protocol_error"


def _describe(code: int | None, msg: str, logid: str | None, debug_url: str | None) -> str:
    # cozepy's format. A proxy's HTML error page can be long: ``msg`` keeps all of it, the
    # text (what ends up in logs) only its start.
    if len(msg) > MAX_MESSAGE_IN_TEXT:
        msg = msg[:MAX_MESSAGE_IN_TEXT] + "…"
    text = f"code: {code}, msg: {msg}, logid: {logid}"
    return f"{text}, debug_url: {debug_url}" if debug_url else text


def _gateway_status(code: int | None) -> int:
    """The HTTP status a gateway surface should use when it relays this upstream error."""
    if code == 4013 or code == 4020:
        return 429
    if code in (AUTH_INVALID_CODE, PERMISSION_CODE):
        return 502  # our upstream credentials are wrong; not the caller's fault
    if code is not None and 4000 <= code < 5000:
        return 400
    return 502


def make_api_error(
    code: int | None,
    msg: str,
    *,
    logid: str | None,
    debug_url: str | None = None,
    http_status: int | None = None,
    oauth_error: str | None = None,
    retry_after: float | None = None,
) -> CozeAPIError:
    """Pick the subclass for ``code`` (auth codes and OAuth errors are auth errors)."""
    is_auth = code in (AUTH_INVALID_CODE, PERMISSION_CODE) or oauth_error is not None
    cls = CozeAuthError if is_auth else CozeAPIError
    return cls(code, msg, logid=logid, debug_url=debug_url, http_status=http_status,
               oauth_error=oauth_error, retry_after=retry_after)


def decode_body(
    text: str, *, http_status: int, logid: str | None, retry_after: float | None = None
) -> dict[str, Any]:
    """Parse a JSON response body, raising the error it carries (wire spec §1.4).

    Returns the whole body object on success; callers pick ``data`` or top-level fields,
    since Coze's endpoints disagree on where the payload lives.
    """
    status_error = {"logid": logid, "http_status": http_status, "retry_after": retry_after}
    try:
        body = json.loads(text)
    except ValueError:
        raise make_api_error(http_status, text, **status_error) from None
    if not isinstance(body, dict):
        if http_status >= 400:
            raise make_api_error(http_status, text, **status_error)
        raise CozeProtocolError(f"expected a JSON object from Coze, got {type(body).__name__}")
    raise_for_body(body, http_status=http_status, logid=logid, retry_after=retry_after)
    if http_status >= 400 and not _looks_successful(body):
        # A 4xx/5xx whose JSON is neither a Coze error nor a success envelope.
        raise make_api_error(http_status, text, **status_error)
    return body


def raise_for_body(
    body: dict[str, Any], *, http_status: int, logid: str | None, retry_after: float | None = None
) -> None:
    """Raise the error a decoded JSON body describes, if any."""
    logid = logid or detail_logid(body)
    if "code" in body and "msg" in body:
        code = _as_int(body["code"])
        if code is not None and code > 0:
            raise make_api_error(code, str(body["msg"]), logid=logid,
                                 debug_url=body.get("debug_url") or None,
                                 http_status=http_status, retry_after=retry_after)
    if body.get("error_message") or body.get("error_code"):
        raise make_api_error(None, str(body.get("error_message") or body.get("error_code")),
                             logid=logid, http_status=http_status, retry_after=retry_after,
                             oauth_error=str(body.get("error_code") or "oauth_error"))


def _looks_successful(body: dict[str, Any]) -> bool:
    return _as_int(body.get("code")) == 0 or "data" in body or "access_token" in body


def detail_logid(body: dict[str, Any]) -> str | None:
    detail = body.get("detail")
    if isinstance(detail, dict) and isinstance(detail.get("logid"), str):
        return detail["logid"]
    return None


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
