"""Async client for the Coze workflow OpenAPI: auth, retries, streams, one error tree.

No FastAPI, no SQL here. One :class:`CozeClient` per upstream account (it owns a pooled
httpx client), built from settings or by hand::

    async with CozeClient.from_settings(settings.coze) as client:
        result = await client.run_workflow(workflow_id, {"input": "hi"})
        async with client.stream_workflow(workflow_id, {"input": "hi"}) as stream:
            async for event in stream:      # WorkflowEvent; event.sse is the raw SSE event
                ...

Everything raised is a :class:`CozeError`: :class:`CozeAPIError` (Coze answered with an error;
``.code`` is Coze's integer code, ``.msg``, ``.logid``, ``.debug_url``, ``.http_status``),
:class:`CozeAuthError`, :class:`CozeTransportError` (``.sent`` tells whether the request may
have reached Coze) with :class:`CozeConnectError`, :class:`CozeTimeoutError`,
:class:`CozeStreamError`, and :class:`CozeProtocolError` for answers of the wrong shape.
"""

from cozegate.upstream.auth import AccessToken, Auth, JWTAuth, PATAuth
from cozegate.upstream.client import CozeClient, auth_from_settings
from cozegate.upstream.errors import (
    CozeAPIError,
    CozeAuthError,
    CozeConnectError,
    CozeError,
    CozeProtocolError,
    CozeStreamError,
    CozeStreamTimeoutError,
    CozeTimeoutError,
    CozeTransportError,
)
from cozegate.upstream.retry import RetryPolicy
from cozegate.upstream.streams import ChatStream, EventStream, StreamOpener, WorkflowStream
from cozegate.upstream.transport.http import Timeouts

__all__ = [
    "AccessToken",
    "Auth",
    "ChatStream",
    "CozeAPIError",
    "CozeAuthError",
    "CozeClient",
    "CozeConnectError",
    "CozeError",
    "CozeProtocolError",
    "CozeStreamError",
    "CozeStreamTimeoutError",
    "CozeTimeoutError",
    "CozeTransportError",
    "EventStream",
    "JWTAuth",
    "PATAuth",
    "RetryPolicy",
    "StreamOpener",
    "Timeouts",
    "WorkflowStream",
    "auth_from_settings",
]
