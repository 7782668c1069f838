"""Workflow runs: sync/async run, streamed run, resumes, run history, chat flow."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from cozegate.protocol.coze import (
    NodeExecuteHistory,
    RunHistory,
    WorkflowRunResult,
)
from cozegate.upstream.base import BaseCozeClient, JSONResponse, compact, validate
from cozegate.upstream.errors import CozeProtocolError
from cozegate.upstream.streams import ChatStream, StreamOpener, WorkflowStream

# Top-level keys of a run/resume answer (wire spec §2.1: no ``data`` envelope object).
_RUN_FIELDS = ("data", "execute_id", "debug_url", "usage", "interrupt_data")

MessageLike = BaseModel | Mapping[str, Any]


class WorkflowEndpoints(BaseCozeClient):
    async def run_workflow(
        self,
        workflow_id: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        bot_id: str | None = None,
        app_id: str | None = None,
        ext: Mapping[str, str] | None = None,
        workflow_version: str | None = None,
        connector_id: str | None = None,
        is_async: bool = False,
    ) -> WorkflowRunResult:
        """``POST /v1/workflow/run``. Never retried once it may have reached Coze."""
        body = _run_body(workflow_id, parameters, bot_id, app_id, ext, workflow_version,
                         connector_id)
        body["is_async"] = is_async
        # An async run is only accepted, so it answers fast; a sync one answers at the end.
        budget = self.timeouts.for_read() if is_async else self.timeouts.for_run()
        answer = await self._request("POST", "/v1/workflow/run", safe=False, budget=budget,
                                     json=body)
        return _run_result(answer)

    def stream_workflow(
        self,
        workflow_id: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        bot_id: str | None = None,
        app_id: str | None = None,
        ext: Mapping[str, str] | None = None,
        workflow_version: str | None = None,
        connector_id: str | None = None,
    ) -> StreamOpener[WorkflowStream]:
        """``POST /v1/workflow/stream_run``: ``async with client.stream_workflow(...) as s``."""
        body = _run_body(workflow_id, parameters, bot_id, app_id, ext, workflow_version,
                         connector_id)
        return StreamOpener(lambda: self._workflow_stream("/v1/workflow/stream_run", body))

    def resume_workflow_stream(
        self, workflow_id: str, event_id: str, resume_data: str, interrupt_type: int
    ) -> StreamOpener[WorkflowStream]:
        """``POST /v1/workflow/stream_resume`` (event ids restart at 0)."""
        body = _resume_body(workflow_id, event_id, resume_data, interrupt_type)
        return StreamOpener(lambda: self._workflow_stream("/v1/workflow/stream_resume", body))

    async def resume_workflow(
        self, workflow_id: str, event_id: str, resume_data: str, interrupt_type: int
    ) -> WorkflowRunResult:
        """``POST /v1/workflows/resume``: the non-streaming resume; answers like a run."""
        body = _resume_body(workflow_id, event_id, resume_data, interrupt_type)
        answer = await self._request("POST", "/v1/workflows/resume", safe=False,
                                     budget=self.timeouts.for_run(), json=body)
        return _run_result(answer)

    async def get_run_history(self, workflow_id: str, execute_id: str) -> RunHistory:
        """``GET /v1/workflows/{wid}/run_histories/{eid}``: status/output of a run."""
        answer = await self._request(
            "GET", f"/v1/workflows/{workflow_id}/run_histories/{execute_id}", safe=True,
            budget=self.timeouts.for_read(),
        )
        records = answer.body.get("data")
        if isinstance(records, dict):
            records = [records]  # tolerate servers that drop the one-element array
        if not isinstance(records, list) or not records:
            raise CozeProtocolError(f"Coze returned no run history for execute_id {execute_id}")
        return validate(RunHistory, records[0], response_logid=answer.logid, raw=answer.body)

    async def get_node_execute_history(
        self, workflow_id: str, execute_id: str, node_execute_uuid: str
    ) -> NodeExecuteHistory:
        """``GET …/run_histories/{eid}/execute_nodes/{uuid}``: a trimmed Output node's output."""
        answer = await self._request(
            "GET",
            f"/v1/workflows/{workflow_id}/run_histories/{execute_id}"
            f"/execute_nodes/{node_execute_uuid}",
            safe=True,
            budget=self.timeouts.for_read(),
        )
        return validate(NodeExecuteHistory, answer.body.get("data"), logid=answer.logid,
                        raw=answer.body)

    def chat_workflow(
        self,
        workflow_id: str,
        additional_messages: Sequence[MessageLike],
        *,
        parameters: Mapping[str, Any] | None = None,
        conversation_id: str | None = None,
        bot_id: str | None = None,
        app_id: str | None = None,
        ext: Mapping[str, str] | None = None,
        workflow_version: str | None = None,
        connector_id: str | None = None,
    ) -> StreamOpener[ChatStream]:
        """``POST /v1/workflows/chat``: a chat-flow turn, streamed (SSE without ids)."""
        body = compact({
            "workflow_id": workflow_id,
            "additional_messages": [message_dict(m) for m in additional_messages],
            "parameters": dict(parameters) if parameters is not None else None,
            "conversation_id": conversation_id,
            "bot_id": bot_id,
            "app_id": app_id,
            "ext": dict(ext) if ext is not None else None,
            "workflow_version": workflow_version,
            "connector_id": connector_id,
        })
        return StreamOpener(lambda: self._chat_stream(body))

    async def _workflow_stream(self, path: str, body: dict[str, Any]) -> WorkflowStream:
        response = await self._open_stream(path, json=body, budget=self.timeouts.for_stream())
        return WorkflowStream(response, idle_timeout=self.timeouts.stream_idle)

    async def _chat_stream(self, body: dict[str, Any]) -> ChatStream:
        response = await self._open_stream("/v1/workflows/chat", json=body,
                                           budget=self.timeouts.for_stream())
        return ChatStream(response, idle_timeout=self.timeouts.stream_idle)


def _run_body(
    workflow_id: str,
    parameters: Mapping[str, Any] | None,
    bot_id: str | None,
    app_id: str | None,
    ext: Mapping[str, str] | None,
    workflow_version: str | None,
    connector_id: str | None,
) -> dict[str, Any]:
    return compact({
        "workflow_id": workflow_id,
        "parameters": dict(parameters) if parameters is not None else None,
        "bot_id": bot_id,
        "app_id": app_id,
        "ext": dict(ext) if ext is not None else None,
        "workflow_version": workflow_version,
        "connector_id": connector_id,
    })


def _resume_body(
    workflow_id: str, event_id: str, resume_data: str, interrupt_type: int
) -> dict[str, Any]:
    return {"workflow_id": workflow_id, "event_id": event_id, "resume_data": resume_data,
            "interrupt_type": interrupt_type}


def _run_result(answer: JSONResponse) -> WorkflowRunResult:
    payload = {key: answer.body.get(key) for key in _RUN_FIELDS}
    data = payload["data"]
    if data is not None and not isinstance(data, str):
        # Coze sends the output as JSON text; a server sending the object gets the same text.
        payload["data"] = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return validate(WorkflowRunResult, payload, logid=answer.logid, raw=answer.body)


def message_dict(message: MessageLike) -> dict[str, Any]:
    if isinstance(message, BaseModel):
        return message.model_dump(exclude_none=True, mode="json")
    return {key: value for key, value in message.items() if value is not None}
