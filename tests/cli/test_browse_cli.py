"""``cozegate workspaces`` / ``cozegate workflows`` against the emulator's catalog."""

from __future__ import annotations

import json

from tests.cli.conftest import Cli
from tests.fixtures_emulator import catalog


def test_workspaces_table_and_json(cli: Cli) -> None:
    table = cli.invoke("workspaces")
    assert table.exit_code == 0, table.output
    assert "Sandbox" in table.stdout and "Team Demo" in table.stdout
    listed = json.loads(cli.invoke("workspaces", "--json").stdout)
    assert [ws["id"] for ws in listed] == [catalog.WORKSPACE_PERSONAL, catalog.WORKSPACE_TEAM]


def test_workflows_of_every_workspace(cli: Cli) -> None:
    result = cli.invoke("workflows", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert {wf["workflow_id"] for wf in listed} == set(catalog.WORKFLOWS)
    by_id = {wf["workflow_id"]: wf for wf in listed}
    assert by_id[catalog.SLOW_JOB]["workspace_id"] == catalog.WORKSPACE_TEAM
    assert by_id[catalog.ECHO]["workspace_name"] == "Sandbox"
    table = cli.invoke("workflows")
    assert "always_fail" in table.stdout and "Team Demo" in table.stdout


def test_workflows_of_one_workspace_and_mode(cli: Cli) -> None:
    team = json.loads(cli.invoke("workflows", "--workspace", catalog.WORKSPACE_TEAM,
                                 "--json").stdout)
    assert {wf["workflow_name"] for wf in team} == {"slow_job", "draft_only"}
    chat = json.loads(cli.invoke("workflows", "--mode", "chatflow", "--json").stdout)
    assert {wf["workflow_name"] for wf in chat} == {"chat_memory", "chat_ask"}


def test_listing_with_a_bad_token_exits_3(cli: Cli) -> None:
    result = cli.invoke("workspaces", "--base-url", cli.base_url, "--token", "nope",
                        connect=False)
    assert result.exit_code == 3
    assert "4100" in result.stderr
