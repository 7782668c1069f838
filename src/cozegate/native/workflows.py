"""Workflow runs on the Coze surface: run (sync / async), stream_run, stream_resume, resume.

Every one is a billed call (see ``gate``). Answers are Coze's own: a run relays Coze's JSON
body, a stream relays Coze's events as they arrive. Resuming needs the run's execute_id to
belong to the caller; the resume goes to the channel that ran it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from cozegate.keys.schemas import KeyRecord
from cozegate.native.async_runs import AsyncRuns
from cozegate.native.gate import CallSpec, Gate, estimate_text
from cozegate.native.metered import MeteredRun
from cozegate.native.ownership import Holder, Ownership
from cozegate.native.relaying import relay_events
from cozegate.native.routing import WORKFLOW_MODEL
from cozegate.native.schemas import ResumeBody, RunBody
from cozegate.native.tally import WorkflowTally, execute_id_of
from cozegate.protocol.coze import WorkflowRunResult
from cozegate.relay.metering import Outcome
from cozegate.relay.upstreams import ChannelAccess


@dataclass(frozen=True)
class OpenStream:
    """A stream ready to relay: Coze's log id for the headers, and the bytes."""

    logid: str | None
    chunks: AsyncIterator[bytes]


class WorkflowRuns:
    def __init__(self, gate: Gate, ownership: Ownership, async_runs: AsyncRuns) -> None:
        self._gate = gate
        self._ownership = ownership
        self._async_runs = async_runs

    async def run(self, key: KeyRecord, body: RunBody, client_ip: str | None) -> (
            WorkflowRunResult):
        inputs = body.inputs()
        candidates = await self._admit(key, body.workflow_id, inputs)
        run = await self._gate.begin(key, CallSpec(
            kind="workflow", model=WORKFLOW_MODEL, workflow_id=body.workflow_id, inputs=inputs,
            estimate_text=estimate_text(inputs), stream=False, client_ip=client_ip))
        channel, result = await self._gate.open(run, candidates, lambda client: (
            client.run_workflow(body.workflow_id, inputs, is_async=body.is_async,
                                **body.options())))
        run.call.mark_first_byte()
        if result.is_async_accepted and result.execute_id:
            await run.learned(execute_id=result.execute_id, is_async=True, logid=result.logid,
                              debug_url=result.debug_url or None)
            self._async_runs.follow(run, self._gate.routes.client(channel), channel,
                                    body.workflow_id, result.execute_id)
        else:
            await _finish_with(run, result)
        return result

    async def stream(self, key: KeyRecord, body: RunBody, client_ip: str | None) -> OpenStream:
        inputs = body.inputs()
        candidates = await self._admit(key, body.workflow_id, inputs)
        run = await self._gate.begin(key, CallSpec(
            kind="workflow", model=WORKFLOW_MODEL, workflow_id=body.workflow_id, inputs=inputs,
            estimate_text=estimate_text(inputs), stream=True, client_ip=client_ip))
        _, stream = await self._gate.open(run, candidates, lambda client: (
            client.stream_workflow(body.workflow_id, inputs, **body.options())))
        tally = WorkflowTally(logid=stream.logid)
        return OpenStream(stream.logid, relay_events(stream, tally, run))

    async def stream_resume(self, key: KeyRecord, body: ResumeBody,
                            client_ip: str | None) -> OpenStream:
        candidates, holder = await self._resumable(key, body)
        run = await self._begin_resume(key, body, holder, client_ip, stream=True)
        _, stream = await self._gate.open(run, candidates, lambda client: (
            client.resume_workflow_stream(body.workflow_id, body.event_id, body.resume_data,
                                          body.interrupt_type)))
        tally = WorkflowTally(logid=stream.logid, execute_id=body.execute_id)
        return OpenStream(stream.logid, relay_events(stream, tally, run))

    async def resume(self, key: KeyRecord, body: ResumeBody, client_ip: str | None) -> (
            WorkflowRunResult):
        """``/v1/workflows/resume``: answers like a run (sync, or accepted for async runs)."""
        candidates, holder = await self._resumable(key, body)
        run = await self._begin_resume(key, body, holder, client_ip, stream=False)
        _, result = await self._gate.open(run, candidates, lambda client: (
            client.resume_workflow(body.workflow_id, body.event_id, body.resume_data,
                                   body.interrupt_type)))
        run.call.mark_first_byte()
        if result.is_async_accepted:
            # An async run goes on in the background: its usage (all legs) is billed when
            # the run ends, with the original call; this leg only releases its reservation.
            await run.finish(Outcome(status="success", input_tokens=0, output_tokens=0,
                                     execute_id=result.execute_id, logid=result.logid),
                             record=False)
        else:
            await _finish_with(run, result)
        return result

    async def _admit(self, key: KeyRecord, workflow_id: str,
                     inputs: dict[str, object]) -> list[ChannelAccess]:
        await self._gate.admit(key, "workflow", WORKFLOW_MODEL, workflow_id)
        candidates = await self._gate.routes.for_workflow(workflow_id, WORKFLOW_MODEL)
        await self._gate.check_inputs(candidates[0], workflow_id, inputs)
        return candidates

    async def _resumable(self, key: KeyRecord, body: ResumeBody) -> tuple[
            list[ChannelAccess], Holder | None]:
        await self._gate.admit(key, "workflow", WORKFLOW_MODEL, body.workflow_id)
        holder = await self._ownership.run(key, body.workflow_id, body.execute_id)
        if holder is None:  # an admin resuming a run the gateway did not start
            return await self._gate.routes.for_workflow(body.workflow_id, WORKFLOW_MODEL), None
        return await self._gate.routes.holding(holder, WORKFLOW_MODEL), holder

    async def _begin_resume(self, key: KeyRecord, body: ResumeBody, holder: Holder | None,
                            client_ip: str | None, *, stream: bool) -> MeteredRun:
        spec = CallSpec(kind="workflow", model=WORKFLOW_MODEL, workflow_id=body.workflow_id,
                        inputs={"resume_data": body.resume_data, "event_id": body.event_id},
                        estimate_text=body.resume_data, stream=stream, client_ip=client_ip)
        if holder is None or holder.run_id is None:
            return await self._gate.begin(key, spec)
        return await self._gate.begin_leg(key, spec, holder.run_id)


async def _finish_with(run: MeteredRun, result: WorkflowRunResult) -> None:
    """End a run from a sync answer: its output, Coze's usage, a question if it stopped."""
    usage = result.usage
    interrupt = result.interrupt_data.model_dump() if result.interrupt_data else None
    execute_id = result.execute_id or (execute_id_of(result.debug_url)
                                       if result.debug_url else None)
    await run.finish(Outcome(
        status="interrupted" if interrupt else "success",
        input_tokens=usage.input_count if usage else None,
        output_tokens=usage.output_count if usage else None,
        output_text=result.data or "", http_status=200, execute_id=execute_id,
        logid=result.logid, debug_url=result.debug_url or None,
    ), output=result.data or None, interrupt=interrupt)
