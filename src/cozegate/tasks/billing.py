"""A task's reservation seen as a metered ``Call``, rebuilt from the task row.

Any process may settle a task (its driver, the canceller, the reaper, the settle sweep after
a crash), so the Call is rebuilt from what the row copied at submit — user, key name, group
ratio and price — rather than from the live key: a key edited or deleted while the task ran
does not change what the task costs, and billing never depends on who settles.
"""

from __future__ import annotations

import json
import time

from cozegate.billing.schemas import PriceSnapshot
from cozegate.keys.schemas import KeyRecord
from cozegate.models import Task
from cozegate.models.base import utcnow
from cozegate.models.task import TASK_CANCELLED, TASK_INTERRUPTED, TASK_SUCCEEDED
from cozegate.relay.metering import Call, Outcome, Status

SURFACE = "task"
_OUTCOME_STATUS: dict[str, Status] = {TASK_SUCCEEDED: "success",
                                      TASK_INTERRUPTED: "interrupted",
                                      TASK_CANCELLED: "cancelled"}


def price_fields(price: PriceSnapshot) -> dict[str, object]:
    return {"target": price.target, "kind": price.kind, "input_price": price.input_price,
            "output_price": price.output_price, "fixed_price": price.fixed_price}


def input_text(parameters: dict[str, object], message: str | None) -> str:
    """What the reservation estimates input tokens from (and the usage estimate, if Coze
    reports none)."""
    text = json.dumps(parameters, ensure_ascii=False) if parameters else ""
    return (message or "") + text


def call_of(task: Task) -> Call:
    key = KeyRecord(
        id=task.api_key_id or 0, user_id=task.user_id, name=task.key_name or "",
        key_hash="", enabled=True, expires_at=None, quota_remaining=None,
        allowed_models=None, allowed_networks=(), rpm_limit=None,
        group_ratio_ppm=task.group_ratio_ppm)
    # Durations in the usage log count from the submit, whichever process settles.
    age = max(0.0, (utcnow() - task.created_at).total_seconds())
    return Call(
        request_id=task.request_id, key=key, model=task.model, workflow_id=task.workflow_id,
        price=PriceSnapshot(**task.price), stream=task.mode == "stream", surface=SURFACE,
        client_ip=task.client_ip, channel_id=task.channel_id, channel_name=task.channel_name,
        input_text=input_text(task.input_parameters, task.message),
        started=time.perf_counter() - age)


def outcome_of(task: Task) -> Outcome:
    status: Status = _OUTCOME_STATUS.get(task.status, "error")
    return Outcome(
        status=status, input_tokens=task.input_tokens, output_tokens=task.output_tokens,
        output_text=task.output or "", error=task.error,
        http_status=200 if status in ("success", "interrupted") else None,
        execute_id=task.execute_id, logid=task.logid, debug_url=task.debug_url)
