"""``cozegate workspaces`` and ``cozegate workflows``: what the token can see, every page."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from cozegate.cli.common import (
    BaseUrlOption,
    CliEnv,
    CliFailure,
    ConfigOption,
    ExitCode,
    JsonOutputOption,
    TokenOption,
    print_json_document,
    resolve_coze_settings,
    run_guarded,
    stdout_console,
)
from cozegate.cli.upstream_errors import describe_error
from cozegate.protocol.coze import WorkflowBasic, Workspace
from cozegate.upstream import CozeClient
from cozegate.upstream.errors import CozeError

T = TypeVar("T")

WORKSPACE_PAGE_SIZE = 50  # Coze's maximum
WORKFLOW_PAGE_SIZE = 30  # Coze's documented maximum
# A server that keeps answering has_more would otherwise page forever.
MAX_PAGES = 1000


class WorkflowMode(StrEnum):
    WORKFLOW = "workflow"
    CHATFLOW = "chatflow"


@dataclass(frozen=True)
class ListedWorkflow:
    workspace: Workspace | None
    workflow: WorkflowBasic


async def all_workspaces(client: CozeClient) -> list[Workspace]:
    """Every workspace; Coze pages by ``total_count`` (no ``has_more`` here)."""
    found: list[Workspace] = []
    for page in range(1, MAX_PAGES + 1):
        answer = await client.list_workspaces(page_num=page, page_size=WORKSPACE_PAGE_SIZE)
        found.extend(answer.workspaces)
        if not answer.workspaces or answer.total_count <= page * WORKSPACE_PAGE_SIZE:
            break
    return found


async def all_workflows(
    client: CozeClient, workspace_id: str, mode: WorkflowMode | None
) -> list[WorkflowBasic]:
    found: list[WorkflowBasic] = []
    for page in range(1, MAX_PAGES + 1):
        answer = await client.list_workflows(
            workspace_id,
            workflow_mode=mode.value if mode else None,
            page_num=page,
            page_size=WORKFLOW_PAGE_SIZE,
        )
        found.extend(answer.items)
        if not answer.has_more or not answer.items:
            break
    return found


async def list_all_workflows(
    client: CozeClient, workspace_id: str | None, mode: WorkflowMode | None
) -> list[ListedWorkflow]:
    """The workflows of one workspace, or of every workspace when none is named."""
    if workspace_id is not None:
        return [ListedWorkflow(None, wf) for wf in await all_workflows(client, workspace_id, mode)]
    listed: list[ListedWorkflow] = []
    for workspace in await all_workspaces(client):
        listed.extend(
            ListedWorkflow(workspace, wf) for wf in await all_workflows(client, workspace.id, mode)
        )
    return listed


def _date(timestamp: int | None) -> str:
    if not timestamp:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M")


def workspaces_table(workspaces: list[Workspace]) -> Table:
    table = Table(title=f"Workspaces ({len(workspaces)})")
    for column in ("id", "name", "type", "role"):
        table.add_column(column, no_wrap=column == "id")
    for ws in workspaces:
        table.add_row(ws.id, ws.name, ws.workspace_type, ws.role_type)
    return table


def workflows_table(rows: list[ListedWorkflow]) -> Table:
    table = Table(title=f"Workflows ({len(rows)})")
    with_workspace = any(row.workspace is not None for row in rows)
    if with_workspace:
        table.add_column("workspace")
    for column in ("id", "name", "description", "updated (UTC)"):
        table.add_column(column, no_wrap=column == "id")
    for row in rows:
        wf = row.workflow
        cells = [wf.workflow_id, wf.workflow_name, wf.description, _date(wf.updated_at)]
        if with_workspace:
            cells.insert(0, row.workspace.name if row.workspace else "")
        table.add_row(*cells)
    return table


def _workflow_json(row: ListedWorkflow) -> dict[str, Any]:
    data = row.workflow.model_dump(mode="json")
    if row.workspace is not None:
        data["workspace_id"] = row.workspace.id
        data["workspace_name"] = row.workspace.name
    return data


def _fetch(coro_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return asyncio.run(coro_factory())
    except CozeError as exc:
        raise CliFailure(describe_error(exc), ExitCode.UPSTREAM) from exc


def register(app: typer.Typer, env: CliEnv) -> None:
    @app.command("workspaces")
    def workspaces_command(
        json_output: JsonOutputOption = False,
        base_url: BaseUrlOption = None,
        token: TokenOption = None,
        config: ConfigOption = None,
    ) -> None:
        """List the workspaces the token can see (all pages)."""

        def go() -> None:
            coze = resolve_coze_settings(base_url, token, config)

            async def fetch() -> list[Workspace]:
                async with CozeClient.from_settings(coze) as client:
                    return await all_workspaces(client)

            workspaces = _fetch(fetch)
            if json_output:
                print_json_document([ws.model_dump(mode="json") for ws in workspaces])
            else:
                stdout_console().print(workspaces_table(workspaces))

        run_guarded(go)

    @app.command("workflows")
    def workflows_command(
        workspace: Annotated[
            str | None,
            typer.Option("--workspace", metavar="ID", show_default=False,
                         help="Only this workspace (default: every workspace)."),
        ] = None,
        mode: Annotated[
            WorkflowMode | None,
            typer.Option("--mode", show_default=False, case_sensitive=False,
                         help="Only workflows or only chat flows."),
        ] = None,
        json_output: JsonOutputOption = False,
        base_url: BaseUrlOption = None,
        token: TokenOption = None,
        config: ConfigOption = None,
    ) -> None:
        """List workflows (all pages), of one workspace or of all of them."""

        def go() -> None:
            coze = resolve_coze_settings(base_url, token, config)

            async def fetch() -> list[ListedWorkflow]:
                async with CozeClient.from_settings(coze) as client:
                    return await list_all_workflows(client, workspace, mode)

            rows = _fetch(fetch)
            if json_output:
                print_json_document([_workflow_json(row) for row in rows])
            else:
                stdout_console().print(workflows_table(rows))

        run_guarded(go)
