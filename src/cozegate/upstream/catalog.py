"""Read-only metadata: workflow info, workflow list, versions, workspaces. All retry-safe."""

from __future__ import annotations

from cozegate.protocol.coze import (
    WorkflowInfo,
    WorkflowList,
    WorkflowVersionList,
    WorkspaceList,
)
from cozegate.upstream.base import BaseCozeClient, validate


class CatalogEndpoints(BaseCozeClient):
    async def get_workflow(
        self, workflow_id: str, include_input_output: bool = False
    ) -> WorkflowInfo:
        """``GET /v1/workflows/{wid}`` (+ input/output schema when asked)."""
        params = {"include_input_output": True} if include_input_output else None
        answer = await self._request("GET", f"/v1/workflows/{workflow_id}", safe=True,
                                     budget=self.timeouts.for_read(), params=params)
        return validate(WorkflowInfo, answer.body.get("data"), logid=answer.logid,
                        raw=answer.body)

    async def list_workflows(
        self,
        workspace_id: str,
        *,
        workflow_mode: str | None = None,
        app_id: str | None = None,
        publish_status: str | None = None,
        page_num: int = 1,
        page_size: int = 10,
    ) -> WorkflowList:
        """``GET /v1/workflows``: one page; ask for ``page_num + 1`` while ``has_more``."""
        answer = await self._request(
            "GET", "/v1/workflows", safe=True, budget=self.timeouts.for_read(),
            params={
                "workspace_id": workspace_id,
                "workflow_mode": workflow_mode,
                "app_id": app_id,
                "publish_status": publish_status,
                "page_num": page_num,
                "page_size": page_size,
            },
        )
        return validate(WorkflowList, answer.body.get("data"), logid=answer.logid,
                        raw=answer.body)

    async def list_workflow_versions(
        self,
        workflow_id: str,
        *,
        publish_status: str | None = None,
        page_size: int = 10,
        page_token: str | None = None,
    ) -> WorkflowVersionList:
        """``GET /v1/workflows/{wid}/versions``: token paged (``next_page_token``)."""
        answer = await self._request(
            "GET", f"/v1/workflows/{workflow_id}/versions", safe=True,
            budget=self.timeouts.for_read(),
            params={"publish_status": publish_status, "page_size": page_size,
                    "page_token": page_token},
        )
        return validate(WorkflowVersionList, answer.body.get("data"), logid=answer.logid,
                        raw=answer.body)

    async def list_workspaces(
        self,
        *,
        page_num: int = 1,
        page_size: int = 20,
        user_id: str | None = None,
        coze_account_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> WorkspaceList:
        """``GET /v1/workspaces``: more pages while ``total_count > page_num * page_size``."""
        answer = await self._request(
            "GET", "/v1/workspaces", safe=True, budget=self.timeouts.for_read(),
            params={"page_num": page_num, "page_size": page_size, "user_id": user_id,
                    "coze_account_id": coze_account_id, "enterprise_id": enterprise_id},
        )
        return validate(WorkspaceList, answer.body.get("data"), logid=answer.logid,
                        raw=answer.body)
