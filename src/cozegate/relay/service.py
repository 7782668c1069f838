"""The relay pipeline for one ``/v1/chat/completions`` request (design §2).

``open_run`` does everything that can still fail *before* a byte reaches the client: target,
allowlist, price, reservation, channel choice and opening the upstream stream, with failover
to the next channel on connect errors and 5xx. Its errors become plain JSON responses.
``RelayRun`` then turns Coze events into OpenAI items, for a stream or for one completion,
and settles in ``finally`` whatever happened.

Workflows are always run upstream with ``stream_run`` even when the client asked for a
non-stream answer: it has no 90 s cut (the sync endpoint has), reports interrupts, and gives
one code path for both.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from cozegate.keys.errors import ModelNotAllowed
from cozegate.keys.schemas import KeyRecord
from cozegate.kit.ids import snowflake_id
from cozegate.kit.readahead import IDLE
from cozegate.protocol.aggregate import converter_for
from cozegate.protocol.error_map import error_from_coze, upstream_unavailable
from cozegate.protocol.openai import ChatCompletionRequest, OpenAIError
from cozegate.protocol.request_map import (
    CozeTarget,
    ModelAlias,
    WorkflowResume,
    chatflow_messages,
    chatflow_parameters,
    last_user_text,
    resolve_target,
    workflow_parameters,
    workflow_resume,
)
from cozegate.protocol.stream_common import (
    KeepAlive,
    StreamContext,
    StreamConverter,
    StreamError,
    StreamItem,
    StreamResult,
)
from cozegate.ratelimit.service import RateLimitService
from cozegate.relay.failover import open_with_failover
from cozegate.relay.metering import Call, Metering, Outcome
from cozegate.relay.sessions import InterruptSessions, Pending, new_session_id
from cozegate.relay.upstreams import ChannelAccess, UpstreamPool
from cozegate.runs.recorder import RunRecorder
from cozegate.upstream import (
    CozeAPIError,
    CozeError,
    EventStream,
)

log = logging.getLogger("cozegate.relay")

Opener = Callable[[Any], Any]  # CozeClient → StreamOpener
InterruptHook = Callable[["Call", StreamResult], Awaitable[None]]
FinishHook = Callable[[Outcome, StreamResult], Awaitable[None]]
# With ``finish_together``: queues the run's end right away (``deferred`` as the settlement);
# answers once it is committed.
QueuedFinishHook = Callable[[Outcome, StreamResult, bool], "asyncio.Future[Any] | None"]


class ChannelDirectory(Protocol):
    async def candidates(self, workflow_id: str, model: str) -> list[ChannelAccess]: ...

    async def record_success(self, channel: ChannelAccess) -> None: ...

    async def record_failure(self, channel: ChannelAccess, error: str) -> None: ...


class NoChannel(OpenAIError):
    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"no enabled channel serves workflow {workflow_id}", status_code=503,
                         type="upstream_error", code="no_channel")


@dataclass
class RelaySettings:
    keepalive_seconds: float = 15.0
    max_retries: int = 3  # rounds over the channels when none could be reached
    aliases: Mapping[str, ModelAlias] | None = None


class Relay:
    def __init__(self, *, channels: ChannelDirectory, upstreams: UpstreamPool,
                 metering: Metering, limits: RateLimitService, sessions: InterruptSessions,
                 settings: RelaySettings, runs: RunRecorder | None = None) -> None:
        self._runs = runs  # persisted run records (runs/), when given
        self._channels = channels
        self._sessions = sessions
        self._limits = limits
        self._upstreams = upstreams
        self._metering = metering
        self._settings = settings

    @property
    def aliases(self) -> Mapping[str, ModelAlias]:
        return self._settings.aliases or {}

    async def open_run(self, body: ChatCompletionRequest, key: KeyRecord,
                       client_ip: str | None) -> RelayRun:
        target = resolve_target(body, self._settings.aliases)
        if not key.allows(target.model, target.workflow_id):
            raise ModelNotAllowed(f"this key may not call {target.model!r}",
                                  details={"param": "model"})
        await self._limits.check(key, "chat" if target.kind == "chatflow" else "workflow")
        price = await self._metering.price_for(target.model, target.workflow_id)
        call = Call(request_id=snowflake_id(), key=key, model=target.model,
                    workflow_id=target.workflow_id, price=price, stream=body.stream,
                    surface="openai", client_ip=client_ip,
                    input_text=_input_text(body))
        plan = _plan(body, target)  # validates the request before any money moves
        await self._metering.reserve(call, max_tokens=body.max_completion_tokens
                                     or body.max_tokens, grant=True)
        pending: Pending | None = None
        session_id: str | None = None
        if target.kind == "workflow":
            if plan.resume is None:
                pending = await self._claim(call, body, target)
            session_id = (pending.conversation_id if pending else None) \
                or body.conversation_id or new_session_id()
        try:
            stream = await self._open_with_failover(call, plan.opener(pending, body))
        except BaseException as exc:
            if pending is not None:
                await self._sessions.restore(key.id, pending)
            await self._metering.finish(call, _failed(exc))
            raise _as_openai(exc) from exc
        context = StreamContext.for_request(body, session_id=session_id)
        converter = converter_for(target, context, conversation_id=body.conversation_id)
        converter.set_logid(stream.logid)
        resumes = pending.resumes + 1 if pending else int(plan.resume is not None)
        return RelayRun(call, stream, converter, self._metering,
                        keepalive=self._settings.keepalive_seconds,
                        on_interrupt=self._remember(body, target, session_id, resumes),
                        on_finish=self._record_run(call, target, plan, body, resumes),
                        finish_together=self._runs is not None and self._runs.books_with_billing)

    def _record_run(self, call: Call, target: CozeTarget, plan: _Plan,
                    body: ChatCompletionRequest, resumes: int
                    ) -> FinishHook | QueuedFinishHook | None:
        """The run record: inserted beside the stream (no await here, so nothing delays
        the first byte and no cancellation can strand the open stream), closed after
        billing."""
        if self._runs is None:
            return None
        runs = self._runs
        inputs = {"parameters": plan.parameters, "messages": plan.messages} \
            if target.kind == "chatflow" else plan.parameters
        if runs.books_with_billing:  # no commit of its own: it rides with the next batch
            run_id = runs.call_started_lazily(
                call, kind=target.kind, inputs=inputs, conversation_id=body.conversation_id,
                resume_count=resumes)

            def queue_finish(outcome: Outcome, result: StreamResult,
                             deferred: bool) -> asyncio.Future[Any] | None:
                return runs.queue_call_finished(run_id, call, outcome,
                                                interrupt=result.interrupt, deferred=deferred)

            return queue_finish
        started = asyncio.ensure_future(runs.call_started(
            call, kind=target.kind, inputs=inputs, conversation_id=body.conversation_id,
            resume_count=resumes))

        async def record_finish_after_start(outcome: Outcome, result: StreamResult) -> None:
            await runs.call_finished(await started, call, outcome, interrupt=result.interrupt)

        return record_finish_after_start

    async def _claim(self, call: Call, body: ChatCompletionRequest,
                     target: CozeTarget) -> Pending | None:
        try:
            return await self._sessions.claim(call.key.id, body, target.workflow_id)
        except BaseException as exc:
            await self._metering.finish(call, _failed(exc))
            raise

    def _remember(self, body: ChatCompletionRequest, target: CozeTarget,
                  session_id: str | None, resumes: int) -> InterruptHook | None:
        if target.kind != "workflow" or session_id is None:
            return None

        async def remember(call: Call, result: StreamResult) -> None:
            marker = result.interrupt or {}
            await self._sessions.remember(
                call.key.id, body, conversation_id=session_id, workflow_id=target.workflow_id,
                event_id=str(marker.get("event_id") or ""),
                interrupt_type=int(marker.get("type") or 0),
                execute_id=result.execute_id, question=result.content, resumes=resumes)

        return remember

    async def _open_with_failover(self, call: Call, opener: Opener) -> EventStream[Any]:
        candidates = await self._channels.candidates(call.workflow_id, call.model)
        if not candidates:
            raise NoChannel(call.workflow_id)
        _, stream = await open_with_failover(
            candidates, opener, health=self._channels, upstreams=self._upstreams,
            max_retries=self._settings.max_retries, slot=call)
        return stream


@dataclass(frozen=True)
class _Plan:
    """What to send upstream, decided (and validated) before the reservation."""

    target: CozeTarget
    resume: WorkflowResume | None = None
    parameters: dict[str, Any] | None = None
    messages: list[dict[str, Any]] | None = None

    def opener(self, pending: Pending | None, body: ChatCompletionRequest) -> Opener:
        target = self.target
        if target.kind == "chatflow":
            messages, parameters = self.messages or [], self.parameters
            return lambda client: client.chat_workflow(
                target.workflow_id, messages, parameters=parameters or None,
                conversation_id=body.conversation_id)
        resume = self.resume
        if resume is None and pending is not None:
            resume = WorkflowResume(workflow_id=target.workflow_id, event_id=pending.event_id,
                                    interrupt_type=pending.interrupt_type,
                                    resume_data=last_user_text(body) or "")
        if resume is not None:
            answer = resume
            return lambda client: client.resume_workflow_stream(
                answer.workflow_id, answer.event_id, answer.resume_data, answer.interrupt_type)
        parameters = self.parameters or {}
        return lambda client: client.stream_workflow(target.workflow_id, parameters)


def _plan(body: ChatCompletionRequest, target: CozeTarget) -> _Plan:
    if target.kind == "chatflow":
        return _Plan(target, messages=chatflow_messages(body),
                     parameters=chatflow_parameters(body, target))
    resume = workflow_resume(body, target)
    if resume is not None:
        return _Plan(target, resume=resume)
    return _Plan(target, parameters=workflow_parameters(body, target))


class RelayRun:
    """An opened upstream run: iterate :meth:`items` (stream) or await :meth:`completion`."""

    def __init__(self, call: Call, stream: EventStream[Any], converter: StreamConverter,
                 metering: Metering, *, keepalive: float,
                 on_interrupt: InterruptHook | None = None,
                 on_finish: FinishHook | QueuedFinishHook | None = None,
                 finish_together: bool = False) -> None:
        """``finish_together``: ``on_finish`` is a :data:`QueuedFinishHook`, queued right
        behind the settlement (both go through the billing writer, in order) instead of
        run after it committed."""
        self.call = call
        self._on_finish = on_finish
        self._finish_together = finish_together
        self._on_interrupt = on_interrupt
        self._stream = stream
        self._converter = converter
        self._metering = metering
        self._keepalive = keepalive

    async def bursts(self) -> AsyncIterator[list[StreamItem]]:
        """Converter items as Coze events arrive, keep-alives during silences; queues the
        settlement last.

        Items come in bursts: everything the events already received produce, so a stream
        writes once per burst rather than once per item (never waiting to fill one). The
        loop is written out here, not in a generator of its own: one generator fewer to
        resume for every chunk of every stream."""
        status = "cancelled"
        stream, converter = self._stream, self._converter
        try:
            while True:
                try:
                    event = await stream.next_event(self._keepalive)
                except StopAsyncIteration:
                    break
                except CozeError as exc:
                    yield list(converter.fail(_as_openai(exc)))
                    break  # the converter is closed: nothing more comes from it
                if event is IDLE:
                    yield [KeepAlive()]  # the run is silent (a long node): keep proxies open
                    continue
                burst = self._feed(event)
                for more in stream.ready():  # already received: same burst, no waiting
                    burst.extend(self._feed(more))
                if burst:
                    yield burst
            tail = list(converter.finish())
            if tail:
                yield tail
            status = self._final_status()
        except asyncio.CancelledError:
            status = "cancelled"
            raise
        except GeneratorExit:
            status = "cancelled"
            raise
        finally:
            # Like a completion, the stream ends (its [DONE] goes out) once its settlement
            # is queued, not committed: see completion().
            await self._finish(status, wait=False)

    async def _finish(self, status: str, *, wait: bool = True) -> None:
        """Close the upstream stream, then settle and record the run, whatever happened.

        ``wait=False``: when both are queued on the billing writer (``finish_together``, as
        the runtime sets it up), return without waiting for their commit, and queue them
        deferred (they ride with the next batch: see ``billing.writer``); otherwise it has
        no effect."""
        await self._stream.aclose()
        if status == "interrupted" and self._on_interrupt is not None:
            await self._remember_interrupt()
        outcome = self._outcome(status)
        if self._on_finish is None:
            await self._metering.finish(self.call, outcome)
        elif self._finish_together:
            # Both queued now, the settlement first: the run record's end lands in the
            # settlement's transaction (one commit) and still sees its usage row. Plain
            # futures (no task each); failures are logged where they are queued.
            deferred = not wait
            queued = [self._metering.queue_finish(self.call, outcome, deferred=deferred),
                      self._on_finish(outcome, self._converter.result,  # type: ignore[call-arg]
                                      deferred)]
            futures = [future for future in queued if isinstance(future, asyncio.Future)]
            if futures and wait:
                await asyncio.shield(asyncio.gather(*futures, return_exceptions=True))
        else:
            await self._metering.finish(self.call, outcome)
            await asyncio.shield(self._on_finish(outcome,  # type: ignore[arg-type]
                                                 self._converter.result))

    async def items(self) -> AsyncIterator[StreamItem]:
        """:meth:`bursts`, one item at a time."""
        bursts = self.bursts()
        try:
            async for burst in bursts:
                for item in burst:
                    yield item
        finally:
            await bursts.aclose()  # type: ignore[attr-defined]

    async def _remember_interrupt(self) -> None:
        assert self._on_interrupt is not None
        try:
            await asyncio.shield(self._on_interrupt(self.call, self._converter.result))
        except Exception:
            # The answer can still resume through coze_resume; losing the session link
            # must not turn a good answer into an error.
            log.exception("could not remember the interrupt of request %s",
                          self.call.request_id)

    async def completion(self) -> dict[str, Any]:
        """The whole run as one ``chat.completion`` (raises the run's ``OpenAIError``).

        Reads the events without a wake-up time: with nothing to send until the end, there
        are no keep-alives to time.

        With the runtime's run recorder (it books on the billing writer), answers as soon as
        the settlement and the run's end are *queued*, not committed: the client does not
        wait for a commit it gains nothing from (about a third of a lone call's time).
        Nothing is lost by it: the bookkeeping is queued before the answer is returned and
        books whatever happens to the client; a failure is logged where it is queued and
        its reservation refunded by the reaper; reads through the API wait for it
        (``deps.get_session``), and a shutdown books everything queued first."""
        status = "cancelled"
        try:
            try:
                async for event in self._stream:
                    self._feed(event)
                self._converter.finish()
            except CozeError as exc:
                self._converter.fail(_as_openai(exc))
            status = self._final_status()
        finally:
            await self._finish(status, wait=False)
        return self._converter.completion()

    def _feed(self, event: Any) -> list[StreamItem]:
        items = list(self._converter.feed_event(event))
        if items and self.call.first_byte is None:
            self.call.mark_first_byte()
        return items

    def _final_status(self) -> str:
        result = self._converter.result
        if result.error is not None:
            return "error"
        if result.interrupt is not None:
            return "interrupted"
        return "success"

    def _outcome(self, status: str) -> Outcome:
        result = self._converter.result
        usage = result.usage
        error = result.error
        return Outcome(
            status=status,  # type: ignore[arg-type]
            input_tokens=usage.input_tokens if usage else None,
            output_tokens=usage.output_tokens if usage else None,
            output_text=result.content,
            error=error.message if error is not None else None,
            http_status=error.status_code if error is not None else 200,
            execute_id=result.execute_id,
            logid=result.logid,
            debug_url=result.debug_url,
        )


def _input_text(body: ChatCompletionRequest) -> str:
    text = last_user_text(body) or ""
    if body.workflow_parameters:
        text += str(body.workflow_parameters)
    return text


def _as_openai(exc: BaseException) -> BaseException:
    if isinstance(exc, OpenAIError):
        return exc
    if isinstance(exc, CozeAPIError):
        return error_from_coze(exc.code, exc.msg, logid=exc.logid, debug_url=exc.debug_url)
    if isinstance(exc, CozeError):
        return upstream_unavailable(str(exc))
    return exc


def _failed(exc: BaseException) -> Outcome:
    error = _as_openai(exc)
    status = getattr(error, "status_code", 500)
    return Outcome(status="error", error=str(exc), http_status=status,
                   logid=getattr(exc, "logid", None), debug_url=getattr(exc, "debug_url", None))


__all__ = ["ChannelDirectory", "Relay", "RelayRun", "RelaySettings", "StreamError"]
