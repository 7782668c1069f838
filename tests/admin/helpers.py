"""Shared helpers of the admin tests: an admin HTTP client and a metered call."""

from __future__ import annotations

from typing import Any

import httpx

from cozegate.kit.money import RATIO_ONE, token_cost
from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway

STORY = catalog.STORY
ECHO = catalog.ECHO
SANDBOX_BALANCE = 100_000_000
# The sandbox's default price in micros per 1M tokens (0.001 / 0.002 per 1K tokens).
SANDBOX_INPUT, SANDBOX_OUTPUT = 1_000_000, 2_000_000


def admin(gateway: Gateway, key: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"{gateway.url}/api/admin", timeout=30,
                             headers={"Authorization": f"Bearer {key or gateway.admin_key}"})


async def story(gateway: Gateway, key: str, model: str = f"coze-workflow/{STORY}",
                **extra: Any) -> httpx.Response:
    """One non-stream call of the story workflow (the emulator's usage is deterministic)."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        return await http.post(
            "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
            json={"model": model, "messages": [{"role": "user", "content": "hi"}],
                  "workflow_parameters": {"topic": "owls"}, **extra})


def cost_of(response: httpx.Response, input_price: int = SANDBOX_INPUT,
            output_price: int = SANDBOX_OUTPUT, ratio_ppm: int = RATIO_ONE) -> int:
    """The exact charge of a completed call: its reported usage at the given prices."""
    usage = response.json()["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    return token_cost(usage["prompt_tokens"], usage["completion_tokens"], input_price,
                      output_price, ratio_ppm)


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]
