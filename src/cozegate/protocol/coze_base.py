"""Building blocks of the Coze wire models: lenient scalar types, tolerant enums, bases.

Shared by :mod:`cozegate.protocol.coze` (JSON endpoints) and
:mod:`cozegate.protocol.coze_events` (stream events).
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field

from cozegate.kit.schema import Schema


def _to_str(value: Any) -> Any:
    # Coze ids are strings on the wire; some servers (and open-source Coze) send numbers.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


def _to_int(value: Any) -> Any:
    # Timestamps and codes arrive as numbers or numeric strings depending on the endpoint.
    if isinstance(value, str):
        stripped = value.strip()
        if stripped == "":
            return 0
        try:
            return int(stripped)
        except ValueError:
            return value
    return value


IdStr = Annotated[str, BeforeValidator(_to_str)]
IntLike = Annotated[int, BeforeValidator(_to_int)]


class TolerantEnum(enum.Enum):
    """Unknown wire values map to ``UNKNOWN`` instead of failing validation."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        return cls.__members__.get("UNKNOWN")

    @classmethod
    def parse(cls, value: str) -> Any:
        """``cls(value)`` without Enum's call machinery (a dict lookup: once per streamed
        event, where ``cls(value)`` costs ten times more)."""
        member = cls._value2member_map_.get(value)
        return member if member is not None else cls(value)


class CozeModel(Schema):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class CozeResult(CozeModel):
    """A decoded response; ``logid`` is the X-Tt-Logid of the call, ``raw`` the wire payload."""

    logid: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)


class Usage(CozeModel):
    input_count: IntLike = 0
    output_count: IntLike = 0
    token_count: IntLike = 0


class InterruptData(CozeModel):
    event_id: IdStr
    type: IntLike
    data: str | None = None
    required_parameters: dict[str, Any] | None = None
