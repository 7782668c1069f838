"""How the CLI reads the Coze client's errors: exit code, saved record, one-line reason."""

from __future__ import annotations

from typing import Any

from cozegate.cli.common import ExitCode
from cozegate.upstream.errors import (
    CozeAPIError,
    CozeAuthError,
    CozeError,
    CozeStreamError,
    CozeTransportError,
)

# Coze's own "please retry" codes, for poll errors: 5000 internal error, 4013 QPS limit,
# 4020 model RPM limit (wire spec §4.2).
TRANSIENT_CODES = frozenset({4013, 4020, 5000})


def is_transient(exc: BaseException) -> bool:
    """Worth another poll: the connection failed or Coze asked to come back later."""
    if isinstance(exc, CozeTransportError):
        return True
    if isinstance(exc, CozeAPIError):
        return exc.code in TRANSIENT_CODES or bool(getattr(exc, "retryable", False))
    return False


# 6xxx codes that refuse a run rather than report its failure: async not in the plan (6003),
# unpublished on Coze Studio (6031), a question node in a sync run on Coze Studio (6039).
REFUSAL_6XXX = frozenset({6003, 6031, 6039})


def is_execution_failure(exc: BaseException) -> bool:
    """Coze ran the workflow and it failed: 6xxx / 7xxxxxxxx engine codes (e.g. 720701002).

    Codes below 6000 (4000 bad input, 4100 token, 4200 not published, 5000 internal) mean
    Coze refused or broke before running anything.
    """
    return (
        isinstance(exc, CozeAPIError)
        and exc.code is not None
        and exc.code >= 6000
        and exc.code not in REFUSAL_6XXX
    )


def exit_code_for(exc: CozeError) -> ExitCode:
    """1 when the workflow ran and failed, 3 when Coze refused or could not be reached."""
    return ExitCode.WORKFLOW_FAILED if is_execution_failure(exc) else ExitCode.UPSTREAM


def error_body(exc: CozeError) -> dict[str, Any]:
    """The error as Coze's envelope would carry it, for the ``response`` slot of a saved file."""
    if isinstance(exc, CozeAPIError):
        return {"code": exc.code, "msg": exc.msg, "debug_url": exc.debug_url or None,
                "detail": {"logid": exc.logid}}
    return {"code": None, "msg": str(exc), "debug_url": None, "detail": {"logid": None}}


def error_record(exc: CozeError) -> dict[str, Any]:
    """The ``error`` slot of a saved file / ``--json`` output."""
    if is_execution_failure(exc):
        kind = "workflow_failed"
    elif isinstance(exc, CozeAuthError):
        kind = "auth_error"
    elif isinstance(exc, CozeAPIError):
        kind = "api_error"
    elif isinstance(exc, CozeTransportError):
        kind = "transport_error"
    else:
        kind = "protocol_error"
    if isinstance(exc, CozeAPIError):
        return {"type": kind, "code": exc.code, "msg": exc.msg, "logid": exc.logid,
                "debug_url": exc.debug_url or None}
    return {"type": kind, "code": None, "msg": str(exc), "logid": None, "debug_url": None}


def describe_error(exc: CozeError) -> str:
    """One line for stderr, with a hint for the mistakes people make most."""
    if isinstance(exc, CozeAPIError):
        text = f"Coze error {exc.code}: {exc.msg}"
        if exc.logid:
            text += f" (logid {exc.logid})"
        hint = _HINTS.get(exc.code) if exc.code is not None else None
        return f"{text} — {hint}" if hint else text
    if isinstance(exc, CozeStreamError):
        return f"the stream from Coze broke: {exc}"
    if isinstance(exc, CozeTransportError):
        return f"cannot reach Coze: {exc}"
    return f"unexpected answer from Coze: {exc}"


_HINTS: dict[int, str] = {
    4000: "check the request: the workflow's inputs (-p / --parameters) and ids",
    4100: "the token was rejected; is it for this site (api.coze.cn vs api.coze.com)?",
    4101: "the token lacks a permission for this resource",
    4200: "the workflow does not exist or was never published",
    6003: "async runs need a paid Coze plan; run without --async",
}
