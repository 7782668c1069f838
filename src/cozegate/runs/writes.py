"""Run records as writes of the billing writer (``billing.writer``).

On the request path a run is started and finished by every call, next to its hold and its
settlement. Booked through the same writer, they share those transactions (one commit for
many requests under load, no second SQLite writer connection competing for the lock), and
a finish sees the usage row its settlement wrote. Plain SQL over a
:class:`~cozegate.billing.booking.Tx`, following :class:`~cozegate.runs.service.RunService`
rule for rule (``tests/runs`` checks that both write the same rows).

A run's start is usually booked lazily (``RunRecorder.call_started_lazily``); if its end is
submitted before the start was booked, the end absorbs it: :class:`RunRecorded` inserts the
finished row in one statement instead of an insert, two reads and an update.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cozegate.billing.booking import Tx
from cozegate.models.run import RUN_ACTIVE, RUN_INTERRUPTED, RUN_RUNNING
from cozegate.runs.schemas import RunFinish, RunStart, RunUpdate

_JSON = ("inputs", "interrupt")
_ACTIVE = {f"active{i}": status for i, status in enumerate(RUN_ACTIVE)}
_ACTIVE_SQL = f"status IN ({', '.join(':' + name for name in _ACTIVE)})"
_INSERT_COLUMNS = (*RunStart.model_fields, "id", "created_at", "updated_at", "started_at",
                   "input_tokens", "output_tokens", "usage_estimated", "cost")
_INSERT = (f"INSERT INTO runs ({', '.join(_INSERT_COLUMNS)}) "
           f"VALUES ({', '.join(':' + c for c in _INSERT_COLUMNS)})")
_RUN = "SELECT status, request_id, created_at FROM runs WHERE id = :id"
_USAGE = ("SELECT input_tokens, output_tokens, usage_estimated, cost FROM usage_logs "
          "WHERE request_id = :request_id ORDER BY id DESC LIMIT 1")
_BILLED = ("input_tokens", "output_tokens", "usage_estimated", "cost")


@functools.lru_cache(maxsize=64)
def _insert_for(columns: tuple[str, ...]) -> str:
    return (f"INSERT INTO runs ({', '.join(columns)}) "
            f"VALUES ({', '.join(':' + c for c in columns)})")


def _with_json_encoded(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with its JSON columns encoded for the database, in place."""
    for name in _JSON:
        value = values.get(name)
        if value is not None:
            values[name] = json.dumps(value)
    return values


# The schemas' fields read off the model: model_dump gives the same values for these flat
# models (ints, strings, flags, plain dicts) at several times the cost, and a run row is
# built for every call on the billing writer's thread (measured: 22-27 µs of Python per
# finished run with model_dump, 13-15 µs without).
_START_FIELDS = tuple(RunStart.model_fields)
_FINISH_FIELDS = tuple(RunFinish.model_fields)


def _set_fields(tx: Tx, run_id: str, values: dict[str, Any], guard: str,
                guard_params: dict[str, Any]) -> bool:
    """RunRepository.set_fields: one guarded UPDATE (columns from the schemas only)."""
    assignments = ", ".join(f"{name} = :v_{name}" for name in values)
    params = {f"v_{name}": value for name, value in _with_json_encoded(dict(values)).items()}
    params.update(guard_params, run_id=run_id)
    return tx.run(f"UPDATE runs SET {assignments} WHERE id = :run_id AND {guard}", params) > 0


def _as_datetime(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RunStarted:
    """RunService.start. ``at``: when the run began (default: when the write is booked)."""

    run_id: str
    data: RunStart
    at: datetime | None = None

    @property
    def lazy_key(self) -> str:
        return self.run_id

    def row(self, tx: Tx, now: datetime) -> dict[str, Any]:
        stamp = tx.stamp(self.at or now)
        data = self.data
        values = _with_json_encoded({name: getattr(data, name) for name in _START_FIELDS})
        values.update(id=self.run_id, created_at=stamp, updated_at=stamp,
                      started_at=stamp if data.status == RUN_RUNNING else None,
                      input_tokens=0, output_tokens=0, usage_estimated=False, cost=0)
        return values

    def apply(self, tx: Tx, now: datetime) -> str:
        tx.run(_INSERT, self.row(tx, now))
        return self.run_id


@dataclass(frozen=True, slots=True)
class RunUpdated:
    """RunService.update."""

    run_id: str
    data: RunUpdate

    @property
    def follows(self) -> str:
        return self.run_id

    def apply(self, tx: Tx, now: datetime) -> bool:
        values: dict[str, Any] = {name: getattr(self.data, name)
                                  for name in self.data.model_fields_set}
        if not values:
            return False
        stamp = tx.stamp(now)
        values["updated_at"] = stamp
        if values.get("status") == RUN_RUNNING:
            _set_fields(tx, self.run_id, {"started_at": stamp}, "status = :queued",
                        {"queued": "queued"})
        return _set_fields(tx, self.run_id, values, _ACTIVE_SQL, _ACTIVE)


@dataclass(frozen=True, slots=True)
class RunEnded:
    """RunService.finish: usage and cost left unset are copied from the usage log."""

    run_id: str
    data: RunFinish

    @property
    def follows(self) -> str:
        return self.run_id

    def absorb(self, lazy: object) -> RunRecorded | None:
        """This run's start, not booked yet: one insert of the finished run instead."""
        if isinstance(lazy, RunStarted) and lazy.run_id == self.run_id:
            return RunRecorded(lazy, self)
        return None

    def apply(self, tx: Tx, now: datetime) -> bool:
        row = tx.one(_RUN, {"id": self.run_id})
        if row is None or row[0] not in RUN_ACTIVE:
            return False
        _, request_id, created_at = row
        values = self.end_values(tx, now, request_id, _as_datetime(created_at))
        return _set_fields(tx, self.run_id, values, _ACTIVE_SQL, _ACTIVE)

    def end_values(self, tx: Tx, now: datetime, request_id: str | None,
                   created_at: datetime) -> dict[str, Any]:
        data = self.data
        values: dict[str, Any] = {name: value for name in _FINISH_FIELDS
                                  if (value := getattr(data, name)) is not None}
        if request_id and (data.cost is None or data.input_tokens is None):
            written = tx.usage_written.get(request_id)  # settled in this transaction
            usage = tx.one(_USAGE, {"request_id": request_id}) if written is None \
                else tuple(written[name] for name in _BILLED)
            if usage is not None:
                for name, value in zip(_BILLED, usage, strict=True):
                    if getattr(data, name) is None:
                        values[name] = bool(value) if name == "usage_estimated" else value
        stamp = tx.stamp(now)
        values.update(finished_at=stamp, updated_at=stamp,
                      duration_ms=round((now - created_at).total_seconds() * 1000))
        if data.status != RUN_INTERRUPTED:
            values["interrupt"] = None
        return values


@dataclass(frozen=True, slots=True)
class RunRecorded:
    """A run started and ended before its start was booked: the ended row, inserted once
    (the same row as RunStarted then RunEnded would leave)."""

    started: RunStarted
    ended: RunEnded

    def apply(self, tx: Tx, now: datetime) -> bool:
        row = self.started.row(tx, now)
        created_at = self.started.at or now
        end = self.ended.end_values(tx, now, self.started.data.request_id, created_at)
        row.update(_with_json_encoded(end))
        tx.run(_insert_for(tuple(row)), row)
        return True
