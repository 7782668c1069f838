"""Runs scripts and turns their steps into Coze workflow events, recording history.

A run is made of legs: the first leg runs the script with the inputs; each resume runs it
again with the answer. A leg yields ``(event_name, data)`` pairs in the stream shape of
spec §2.2 (``Message``, ``Interrupt``, ``Error``, ``Done``); the sync, stream and async
front ends consume the same pairs, so all three modes behave identically.

Usage rule (documented in docs/emulator.md): per leg, ``input_count`` = ceil(chars / 4) of
the compact JSON of the parameters (first leg) or of ``resume_data`` (resumes);
``output_count`` = ceil(chars / 4) of the End output string (or of the question text when
the leg interrupts; 0 when it fails). Run history accumulates the legs.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from cozegate.emulator import scripts
from cozegate.emulator.catalog import WorkflowSpec
from cozegate.emulator.config import EmulatorConfig
from cozegate.emulator.state import EmulatorState, Execution, PendingInterrupt
from cozegate.emulator.wire import CozeError, Usage, dumps, tokens
from cozegate.kit.ids import logid, snowflake_id

Event = tuple[str, dict[str, Any]]
QUESTION_INTERRUPT = 2
RESUME_LIMIT_CODE = 720702010
INTERNAL_ERROR_CODE = 5000


class Engine:
    def __init__(self, config: EmulatorConfig, state: EmulatorState) -> None:
        self.config = config
        self.state = state

    def debug_url(self, workflow_id: str, execute_id: str, space_id: str) -> str:
        return (f"{self.config.debug_url_base}?execute_id={execute_id}"
                f"&space_id={space_id}&workflow_id={workflow_id}")

    def start(self, spec: WorkflowSpec, params: dict[str, Any], run_mode: int,
              bot_id: str | None = None, user_id: str | None = None,
              input_text: str | None = None) -> Execution:
        """Register a run; ``input_text`` is what the first leg's input tokens count
        (default: the parameters' compact JSON)."""
        execute_id = snowflake_id()
        execution = Execution(
            execute_id=execute_id, workflow_id=spec.id, run_mode=run_mode, logid=logid(),
            debug_url=self.debug_url(spec.id, execute_id, spec.workspace_id), params=params,
            bot_id=bot_id or "0", connector_uid=user_id or self.config.connector_uid,
            input_text=dumps(params) if input_text is None else input_text,
        )
        self.state.add_execution(execution)
        return execution

    def find_interrupted(self, workflow_id: str, event_id: Any) -> Execution:
        """The run waiting on ``event_id`` (``<execute_id>/<id>``), or a 4000 error."""
        if not isinstance(event_id, str) or "/" not in event_id:
            raise CozeError(4000, "Request parameter error: event_id must be '<execute_id>/<id>'")
        execution = self.state.get_execution(str(workflow_id), event_id.split("/", 1)[0])
        pending = execution.interrupt
        if execution.busy or pending is None or pending.event_id != event_id:
            raise CozeError(4000, f"event_id {event_id} is not waiting for a resume "
                                  "(already resumed, or the run is not interrupted)")
        return execution

    async def leg(self, execution: Execution, answer: str | None = None) -> AsyncIterator[Event]:
        """Run one leg; the final event is always ``Done``, ``Error`` or ``Interrupt``."""
        execution.busy = True
        execution.interrupt = None
        leg_input = execution.input_text if answer is None else answer
        usage = execution.last_usage = Usage(input_count=tokens(leg_input))
        try:
            if answer is not None:
                execution.resumes += 1
                if execution.resumes > self.config.max_resumes:
                    message = (f"the workflow was resumed more than {self.config.max_resumes} "
                               "times; the run is terminated")
                    yield self._fail(execution, usage, RESUME_LIMIT_CODE, message)
                    return
            ctx = scripts.RunContext(execution.params, answer, self.config.chunk_interval)
            async for step in scripts.SCRIPTS[execution.workflow_id](ctx):
                if isinstance(step, scripts.Chunk):
                    yield "Message", self._chunk(execution, step)
                elif isinstance(step, scripts.Ask):
                    for event in self._ask(execution, usage, step.question):
                        yield event
                    return
                elif isinstance(step, scripts.Fail):
                    yield self._fail(execution, usage, step.code, step.message)
                    return
                else:
                    for event in self._finish(execution, usage, step.output):
                        yield event
                    return
        except Exception as exc:
            # A script bug must still end the run (history would say Running forever).
            yield self._fail(execution, usage, INTERNAL_ERROR_CODE, f"emulator error: {exc!r}")
        finally:
            execution.busy = False
            execution.touch()

    def _chunk(self, execution: Execution, step: scripts.Chunk) -> dict[str, Any]:
        node = execution.node(step.node_title, step.node_id, snowflake_id())
        node.output = step.content if step.seq == 0 else node.output + step.content
        node.is_finish = step.finish
        node.update_time = int(time.time())
        return {
            "content": step.content, "content_type": "text", "node_title": step.node_title,
            "node_seq_id": str(step.seq), "node_is_finish": step.finish,
            "node_id": step.node_id, "node_type": "Message", "node_execute_uuid": node.uuid,
        }

    def _ask(self, execution: Execution, usage: Usage, question: str) -> list[Event]:
        usage.output_count = tokens(question)
        self._add_usage(execution, usage)
        node = execution.node("Question", "100003", snowflake_id())
        node.output, node.is_finish, node.update_time = question, False, int(time.time())
        data = dumps({"content_type": "text", "content": question})
        pending = PendingInterrupt(f"{execution.execute_id}/{snowflake_id()}",
                                   QUESTION_INTERRUPT, "Question", data)
        execution.interrupt = pending
        return [
            ("Message", {"content": question, "content_type": "text", "node_title": "Question",
                         "node_seq_id": "0", "node_is_finish": True, "node_id": node.node_id,
                         "node_type": "Question", "node_execute_uuid": node.uuid}),
            ("Interrupt", {"interrupt_data": interrupt_data(pending), "node_title": "Question"}),
        ]

    def _fail(self, execution: Execution, usage: Usage, code: int, message: str) -> Event:
        self._add_usage(execution, usage)
        execution.status = "Fail"
        execution.error_code, execution.error_message = str(code), message
        return "Error", {"error_code": code, "error_message": message,
                         "debug_url": execution.debug_url}

    def _finish(self, execution: Execution, usage: Usage, output: str) -> list[Event]:
        usage.output_count = tokens(output)
        self._add_usage(execution, usage)
        for node in execution.nodes.values():
            node.is_finish = True
        end = execution.node("End", "900001", snowflake_id())
        end.output, end.is_finish, end.update_time = output, True, int(time.time())
        execution.output = output
        execution.status = "Success"
        return [
            ("Message", {"content": output, "content_type": "text", "node_title": "End",
                         "node_seq_id": "0", "node_is_finish": True, "node_id": end.node_id,
                         "node_type": "End", "node_execute_uuid": end.uuid,
                         "usage": usage.as_dict()}),
            ("Done", {"debug_url": execution.debug_url}),
        ]

    @staticmethod
    def _add_usage(execution: Execution, usage: Usage) -> None:
        execution.usage.input_count += usage.input_count
        execution.usage.output_count += usage.output_count


def interrupt_data(pending: PendingInterrupt) -> dict[str, Any]:
    return {"event_id": pending.event_id, "type": pending.type, "data": pending.data,
            "required_parameters": {}}

