"""CSV export of usage rows (admin API / CLI). Money is written as exact decimals."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from cozegate.kit.money import format_amount, format_price_per_1k, format_ratio
from cozegate.models import UsageLog

CSV_COLUMNS = (
    "created_at",
    "request_id",
    "user_id",
    "key_name",
    "model",
    "workflow_id",
    "channel_name",
    "surface",
    "stream",
    "input_tokens",
    "output_tokens",
    "usage_estimated",
    "input_price_per_1k",
    "output_price_per_1k",
    "fixed_price",
    "group_ratio",
    "cost",
    "status",
    "error",
    "duration_ms",
    "ttfb_ms",
    "client_ip",
    "execute_id",
    "logid",
    "debug_url",
)


def _row(log: UsageLog) -> list[object]:
    return [
        log.created_at.isoformat(),
        log.request_id,
        log.user_id,
        log.key_name,
        log.model,
        log.workflow_id,
        log.channel_name,
        log.surface,
        log.stream,
        log.input_tokens,
        log.output_tokens,
        log.usage_estimated,
        format_price_per_1k(log.input_price),
        format_price_per_1k(log.output_price),
        format_amount(log.fixed_price),
        format_ratio(log.group_ratio_ppm),
        format_amount(log.cost),
        log.status,
        log.error,
        log.duration_ms,
        log.ttfb_ms,
        log.client_ip,
        log.execute_id,
        log.logid,
        log.debug_url,
    ]


def usage_csv(rows: Iterable[UsageLog]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_row(log) for log in rows)
    return buffer.getvalue()
