"""Persisted runs: cozegate's own copy of every workflow / chat-flow run, on every surface.

Coze keeps results 24 h / 7 days, trims outputs over 1 MB and cannot list runs; a ``runs``
row keeps who ran what (user, key, channel, workflow, surface), the inputs, the status
(``queued → running → succeeded | failed | cancelled | interrupted``), the full output, usage
and cost, timings, ``execute_id``, ``logid``, ``debug_url``, the pending interrupt and the
resume count — for ``COZEGATE_RUN_RETENTION_DAYS`` days (purged by ``RunPurger``).

**Recording a run from a surface** — through ``runtime.runs`` (a :class:`RunRecorder`; each
call is its own short transaction, failures are logged, never raised)::

    run_id = await runtime.runs.start(RunStart(
        user_id=key.user_id, api_key_id=key.id, key_name=key.name, surface="coze",
        workflow_id=wid, inputs=params, request_id=call.request_id, stream=True))
    await runtime.runs.update(run_id, RunUpdate(execute_id=..., channel_id=..., logid=...))
    await runtime.runs.finish(run_id, RunFinish(status="succeeded", output=data_text,
                                                debug_url=..., interrupt=None))
    await runtime.runs.resume(run_id)           # an interrupted run continues

For a metered ``Call`` (relay.metering) the shortcuts do the mapping::

    run_id = await runtime.runs.call_started(call, kind="workflow", inputs=params)
    ...  # upstream, then Metering.finish(call, outcome)
    await runtime.runs.call_finished(run_id, call, outcome, output=raw_output,
                                     interrupt=interrupt_dict)

``finish`` copies tokens and the charged cost from the usage log row of the run's
``request_id`` when the caller leaves them ``None`` — so call it *after* ``Metering.finish``.
Finishing is guarded: only a queued/running run can end, once.

Inside a transaction you own, use :class:`RunService` (``start/update/finish/resume/get/
by_execute_id/page/purge``; never commits). Reading: ``RunService().page(session,
RunFilter(user_id=…, workflow_id=…, execute_id=…), offset=0, limit=50)`` → ``RunPage``.

HTTP: ``GET /api/runs``, ``GET /api/runs/{id}`` (gateway key: the key's user's runs only),
``GET /api/admin/runs``, ``GET /api/admin/runs/{id}`` (admin). See docs/runs.md.
"""

from cozegate.runs.recorder import RunRecorder
from cozegate.runs.schemas import RunFilter, RunFinish, RunOut, RunPage, RunStart, RunUpdate
from cozegate.runs.service import RunService, new_run_id

__all__ = ["RunFilter", "RunFinish", "RunOut", "RunPage", "RunRecorder", "RunService",
           "RunStart", "RunUpdate", "new_run_id"]
