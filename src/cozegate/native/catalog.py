"""Read-only metadata on the Coze surface: workflow info and versions, workflow list,
workspaces.

Not billed, rate limited as ``info``. Relayed from the channel: a workflow's info from the
channels serving that workflow, the lists from the account-wide channels (they show that
Coze account's workspaces and workflows). Reads are safe to repeat, so they fail over like
runs do.
"""

from __future__ import annotations

from dataclasses import dataclass

from cozegate.keys.schemas import KeyRecord
from cozegate.native.gate import Gate
from cozegate.native.routing import WORKFLOW_MODEL
from cozegate.protocol.coze import (
    WorkflowInfo,
    WorkflowList,
    WorkflowVersionList,
    WorkspaceList,
)


@dataclass(frozen=True)
class WorkflowQuery:
    workspace_id: str
    workflow_mode: str | None = None
    app_id: str | None = None
    publish_status: str | None = None
    page_num: int = 1
    page_size: int = 10


@dataclass(frozen=True)
class WorkspaceQuery:
    page_num: int = 1
    page_size: int = 20
    user_id: str | None = None
    coze_account_id: str | None = None
    enterprise_id: str | None = None


class Catalog:
    def __init__(self, gate: Gate) -> None:
        self._gate = gate

    async def workflow(self, key: KeyRecord, workflow_id: str,
                       include_input_output: bool) -> WorkflowInfo:
        await self._gate.admit(key, "info", WORKFLOW_MODEL, workflow_id)
        candidates = await self._gate.routes.for_workflow(workflow_id, WORKFLOW_MODEL)
        _, info = await self._gate.routes.open(candidates, lambda client: client.get_workflow(
            workflow_id, include_input_output=include_input_output))
        return info

    async def versions(self, key: KeyRecord, workflow_id: str, *, publish_status: str | None,
                       page_size: int, page_token: str | None) -> WorkflowVersionList:
        await self._gate.admit(key, "info", WORKFLOW_MODEL, workflow_id)
        candidates = await self._gate.routes.for_workflow(workflow_id, WORKFLOW_MODEL)
        _, page = await self._gate.routes.open(
            candidates, lambda client: client.list_workflow_versions(
                workflow_id, publish_status=publish_status, page_size=page_size,
                page_token=page_token or None))
        return page

    async def workflows(self, key: KeyRecord, query: WorkflowQuery) -> WorkflowList:
        await self._gate.admit(key, "info")
        candidates = await self._gate.routes.for_account()
        _, page = await self._gate.routes.open(candidates, lambda client: client.list_workflows(
            query.workspace_id, workflow_mode=query.workflow_mode, app_id=query.app_id,
            publish_status=query.publish_status, page_num=query.page_num,
            page_size=query.page_size))
        return page

    async def workspaces(self, key: KeyRecord, query: WorkspaceQuery) -> WorkspaceList:
        await self._gate.admit(key, "info")
        candidates = await self._gate.routes.for_account()
        _, page = await self._gate.routes.open(candidates, lambda client: client.list_workspaces(
            page_num=query.page_num, page_size=query.page_size, user_id=query.user_id,
            coze_account_id=query.coze_account_id, enterprise_id=query.enterprise_id))
        return page
