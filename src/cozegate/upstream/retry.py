"""When a failed call may be sent again, and how long to wait first.

Coze runs are not idempotent: a run that reached Coze may be executing even if its answer was
lost, and sending it again would run (and bill) the workflow twice. So calls are classed:

* ``safe`` calls (reads: GETs, the message list) are retried on Coze's "come back later"
  codes (4013, 4020, 5000), on HTTP 429/502/503/504, and on any transport failure;
* unsafe calls (runs, stream runs, resumes, chat, conversation create) are retried only when
  the request provably never left: a failed connect, a connect timeout, a pool timeout.

Delays are exponential with full jitter (AWS architecture blog, "Exponential Backoff And
Jitter"), so many clients hitting the same 4013 spread out instead of retrying in lockstep. A
``Retry-After`` header wins over the computed delay, capped so a hostile value cannot park us.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass, field

from cozegate.upstream.errors import (
    CozeAPIError,
    CozeAuthError,
    CozeError,
    CozeTransportError,
)

_JITTER = random.Random()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    retry_after_cap: float = 30.0
    # Rate-limit refusals (4013/4020/429) happen before any work starts, so a run could be
    # retried on them; off by default because the safe-run rule is "never reached Coze".
    retry_refused_runs: bool = False
    # Shared: a Random of its own would be seeded from os.urandom for every policy built.
    rng: random.Random = field(default=_JITTER, compare=False, repr=False)

    def should_retry(self, exc: CozeError, *, safe: bool, attempt: int) -> bool:
        """``attempt`` counts retries already made (0 after the first failure)."""
        if attempt >= self.max_retries:
            return False
        if isinstance(exc, CozeTransportError):
            return safe or not exc.sent
        if isinstance(exc, CozeAuthError):
            return False  # handled separately: one forced token refresh, never a backoff loop
        if isinstance(exc, CozeAPIError) and exc.retryable:
            return safe or (self.retry_refused_runs and _is_refusal(exc))
        return False

    def delay(self, attempt: int, exc: CozeError | None = None) -> float:
        """Seconds to sleep before retry number ``attempt + 1``."""
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return max(0.0, min(retry_after, self.retry_after_cap))
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return self.rng.uniform(0, ceiling)


def _is_refusal(exc: CozeAPIError) -> bool:
    return exc.code in (4013, 4020) or exc.http_status == 429


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
