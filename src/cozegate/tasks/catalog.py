"""Seed 004's health and workspace browsing: ``/api/coze/health``, ``/api/coze/workspaces``
(the channel named by ``account_id``) and the workflows of a workspace."""

from __future__ import annotations

from typing import Any

from cozegate.keys.schemas import KeyRecord
from cozegate.runtime import Runtime
from cozegate.tasks.errors import UpstreamFailed
from cozegate.upstream import CozeAPIError, CozeError

SERVICE = "coze"


async def health(runtime: Runtime) -> tuple[dict[str, Any], bool]:
    """Public: status, and counts only (no ids, no names)."""
    try:
        stats = await runtime.tasks.stats()
    except Exception as exc:  # any failure of the database means "unhealthy"
        return {"status": "unhealthy", "service": SERVICE,
                "stats": {"error": f"database: {type(exc).__name__}"}}, False
    return {"status": "healthy", "service": SERVICE, "stats": stats}, True


async def workspaces_of(runtime: Runtime, key: KeyRecord,
                        account_id: str | None) -> dict[str, Any]:
    await runtime.tasks.limits.check(key, "info")
    channel = await runtime.tasks.channels.account(account_id)
    client = runtime.tasks.channels.client(channel)
    try:
        found = await client.list_workspaces(page_size=50)
    except CozeError as exc:
        raise _upstream(exc) from exc
    workspaces = [workspace.model_dump(mode="json", exclude={"raw"})
                  for workspace in found.workspaces]
    return {"success": True, "account_id": channel.name, "workspaces": workspaces,
            "count": len(workspaces)}


async def workflows_of(runtime: Runtime, key: KeyRecord, account_id: str | None,
                       workspace_id: str, page_num: int, page_size: int) -> dict[str, Any]:
    await runtime.tasks.limits.check(key, "info")
    channel = await runtime.tasks.channels.account(account_id)
    client = runtime.tasks.channels.client(channel)
    try:
        found = await client.list_workflows(workspace_id, page_num=page_num,
                                            page_size=page_size)
    except CozeError as exc:
        raise _upstream(exc) from exc
    workflows = [workflow.model_dump(mode="json") for workflow in found.items]
    return {"success": True, "account_id": channel.name, "workspace_id": workspace_id,
            "workflows": workflows, "count": len(workflows), "has_more": found.has_more}


def _upstream(exc: CozeError) -> UpstreamFailed:
    if isinstance(exc, CozeAPIError):
        status = 400 if exc.code == 4000 else 502
        return UpstreamFailed(f"Coze refused: {exc.msg}", status_code=status,
                              details={"coze_code": exc.code, "logid": exc.logid})
    return UpstreamFailed(f"Coze could not be reached: {exc}")
