"""Run history on the Coze surface.

* ``GET /v1/workflows/{id}/run_histories/{execute_id}`` (+ ``execute_nodes``): Coze's record,
  relayed from the channel that ran it, for the run's owner only. A relayed answer that shows
  an async run ended also settles that run (``AsyncRuns.observe``).
* ``GET /v1/workflow/get_run_history`` (Coze Plus, seed 001): a page of the caller's runs
  from cozegate's own run store — every surface, kept beyond Coze's 24 h / 7 day retention.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cozegate.db import SessionMaker
from cozegate.keys.schemas import KeyRecord
from cozegate.native.async_runs import AsyncRuns
from cozegate.native.errors import bad_request
from cozegate.native.gate import Gate
from cozegate.native.ownership import Ownership
from cozegate.native.routing import WORKFLOW_MODEL
from cozegate.protocol.coze import NodeExecuteHistory, RunHistory
from cozegate.relay.upstreams import ChannelAccess
from cozegate.runs.schemas import RunFilter, RunOut
from cozegate.runs.service import RunService

MAX_PAGE = 100

# Run store statuses in seed 001's spelling, and in Coze's run-history spelling.
_PLUS_STATUS = (("succeeded", "success"), ("failed", "fail"), ("queued", "running"))
_COZE_STATUS = (("succeeded", "Success"), ("failed", "Fail"), ("cancelled", "Fail"))


@dataclass(frozen=True)
class HistoryQuery:
    workflow_id: str | None = None
    execute_id: str | None = None
    page_size: int = 20
    page_token: str | None = None


class History:
    def __init__(self, gate: Gate, ownership: Ownership, async_runs: AsyncRuns,
                 sessionmaker: SessionMaker) -> None:
        self._gate = gate
        self._ownership = ownership
        self._async_runs = async_runs
        self._sessionmaker = sessionmaker
        self._runs = RunService()

    async def run(self, key: KeyRecord, workflow_id: str, execute_id: str) -> RunHistory:
        candidates = await self._held(key, workflow_id, execute_id)
        _, history = await self._gate.routes.open(
            candidates, lambda client: client.get_run_history(workflow_id, execute_id))
        await self._async_runs.observe(history)
        return history

    async def node(self, key: KeyRecord, workflow_id: str, execute_id: str,
                   node_execute_uuid: str) -> NodeExecuteHistory:
        candidates = await self._held(key, workflow_id, execute_id)
        _, node = await self._gate.routes.open(
            candidates, lambda client: client.get_node_execute_history(
                workflow_id, execute_id, node_execute_uuid))
        return node

    async def page(self, key: KeyRecord, query: HistoryQuery) -> dict[str, Any]:
        """Seed 001's ``{"histories": [...], "page_token", "has_more"}``, newest first."""
        await self._gate.admit(key, "info", WORKFLOW_MODEL if query.workflow_id else None,
                               query.workflow_id)
        offset = _offset(query.page_token)
        size = max(1, min(query.page_size, MAX_PAGE))
        filters = RunFilter(user_id=None if key.is_admin else key.user_id,
                            workflow_id=query.workflow_id or None,
                            execute_id=query.execute_id or None)
        async with self._sessionmaker() as session:
            page = await self._runs.page(session, filters, offset=offset, limit=size)
        has_more = offset + len(page.items) < page.total
        return {"histories": [history_item(run) for run in page.items],
                "page_token": str(offset + len(page.items)) if has_more else "",
                "has_more": has_more, "total": page.total}

    async def _held(self, key: KeyRecord, workflow_id: str,
                    execute_id: str) -> list[ChannelAccess]:
        await self._gate.admit(key, "info", WORKFLOW_MODEL, workflow_id)
        holder = await self._ownership.run(key, workflow_id, execute_id)
        if holder is None:  # an admin looking at a run the gateway did not start
            return await self._gate.routes.for_workflow(workflow_id, WORKFLOW_MODEL)
        return await self._gate.routes.holding(holder, WORKFLOW_MODEL)


def history_item(run: RunOut) -> dict[str, Any]:
    """One run in seed 001's shape, plus the Coze run-history fields a client may expect."""
    started, finished = _epoch(run.started_at or run.created_at), _epoch(run.finished_at)
    return {
        "execute_id": run.execute_id or "",
        "workflow_id": run.workflow_id,
        "status": _spelled(run.status, _PLUS_STATUS),
        "execute_status": _spelled(run.status, _COZE_STATUS, default="Running"),
        "input": json.dumps(run.inputs or {}, ensure_ascii=False, separators=(",", ":")),
        "output": run.output or "",
        "started_at": started,
        "finished_at": finished,
        "duration": round(run.duration_ms / 1000) if run.duration_ms is not None else 0,
        "error_code": str(run.error_code) if run.error_code else "",
        "error_message": run.error or "",
        "run_id": run.id,
        "kind": run.kind,
        "surface": run.surface,
        "is_async": run.is_async,
        "stream": run.stream,
        "conversation_id": run.conversation_id or "",
        "usage": {"input_count": run.usage["input_tokens"],
                  "output_count": run.usage["output_tokens"],
                  "token_count": run.usage["total_tokens"]},
        "cost": run.cost,
        "debug_url": run.debug_url or "",
        "logid": run.logid or "",
        "interrupt_data": run.interrupt,
        "resume_count": run.resume_count,
        "create_time": _epoch(run.created_at),
        "update_time": finished or started,
    }


def _spelled(status: str, table: tuple[tuple[str, str], ...], default: str | None = None) -> str:
    for ours, theirs in table:
        if status == ours:
            return theirs
    return default or status


def _epoch(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment is not None else 0


def _offset(page_token: str | None) -> int:
    if not page_token:
        return 0
    if not page_token.isdigit():
        raise bad_request("page_token must be a token returned by an earlier page")
    return int(page_token)
