"""Errors on the Coze-compatible surface, in Coze's codes so SDK error mapping works.

Every error is a :class:`~cozegate.errors.CozegateError`; the Coze surface renders it as
``{"code", "msg", "detail": {"logid"}}`` (``surfaces.py``) with ``details["coze_code"]`` as
the code. Three sources:

* errors Coze answered (:class:`CozeAPIError`) pass through unchanged: code, msg, logid,
  debug_url and Coze's own HTTP status;
* Coze could not be reached or broke the protocol: code 5000, HTTP 502 (504 on timeouts);
* the gateway's own refusals keep their HTTP status and get the Coze code of the same
  meaning (:data:`GATEWAY_CODES`), or the surface's status default (4100, 4101, 4200, 4013,
  4000) when they have none.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cozegate.errors import CozegateError
from cozegate.upstream import CozeAPIError, CozeError, CozeTimeoutError

BAD_REQUEST = 4000
RATE_LIMITED = 4013
INSUFFICIENT_CREDITS = 4028
BAD_TOKEN = 4100
NOT_ALLOWED = 4101
NOT_FOUND = 4200
INTERNAL = 5000

# Gateway refusals whose status alone would pick the wrong Coze code. Pairs, not a dict:
# no module-level mutable state.
GATEWAY_CODES: tuple[tuple[str, int], ...] = (
    ("insufficient_balance", INSUFFICIENT_CREDITS),  # HTTP 402
    ("key_quota_exceeded", INSUFFICIENT_CREDITS),  # HTTP 429 (the key's own budget)
    ("price_not_configured", INTERNAL),  # the operator's setup, not the caller's request
    ("duplicate_request", INTERNAL),
)


class CozeSurfaceError(CozegateError):
    """A refusal of the Coze surface itself, with its Coze code and HTTP status."""

    def __init__(self, coze_code: int, message: str, *, status_code: int,
                 logid: str | None = None, debug_url: str | None = None) -> None:
        details: dict[str, object] = {"coze_code": coze_code}
        if logid:
            details["logid"] = logid
        if debug_url is not None:
            details["debug_url"] = debug_url
        super().__init__(message, status_code=status_code, code=f"coze_{coze_code}",
                         details=details)


def bad_request(message: str) -> CozeSurfaceError:
    return CozeSurfaceError(BAD_REQUEST, f"Request parameter error: {message}", status_code=400)


def not_found(message: str) -> CozeSurfaceError:
    return CozeSurfaceError(NOT_FOUND, message, status_code=404)


def no_channel(what: str) -> CozeSurfaceError:
    # From the caller's side an id no channel serves is an unknown resource.
    return CozeSurfaceError(NOT_FOUND, f"no enabled channel serves {what}", status_code=404)


def from_upstream(exc: CozeError) -> CozegateError:
    """What the Coze surface answers for an upstream failure."""
    if isinstance(exc, CozeAPIError) and exc.code is not None:
        return CozeSurfaceError(exc.code, exc.msg, status_code=exc.http_status or 200,
                                logid=exc.logid, debug_url=exc.debug_url)
    if isinstance(exc, CozeAPIError):
        # An OAuth-shaped refusal of the channel's own app: the operator's problem.
        return CozeSurfaceError(INTERNAL, f"upstream authentication failed: {exc.msg}",
                                status_code=502, logid=exc.logid)
    status = 504 if isinstance(exc, CozeTimeoutError) else 502
    return CozeSurfaceError(INTERNAL, f"upstream unavailable: {exc}", status_code=status)


def for_coze(exc: CozegateError) -> CozegateError:
    """``exc`` as the Coze surface should render it (unchanged when it already fits)."""
    if isinstance(exc, CozeSurfaceError):
        return exc
    if isinstance(exc, CozeError):
        return from_upstream(exc)
    if "coze_code" in exc.details:
        return exc
    for code, coze_code in GATEWAY_CODES:
        if exc.code == code:
            return CozegateError(exc.message, status_code=exc.status_code, code=exc.code,
                                 details={**exc.details, "coze_code": coze_code})
    return exc


@contextmanager
def coze_errors() -> Iterator[None]:
    """Re-raise any cozegate error in its Coze shape (the original is chained)."""
    try:
        yield
    except CozegateError as exc:
        mapped = for_coze(exc)
        if mapped is exc:
            raise
        raise mapped from exc
