"""Errors of pricing and billing."""

from __future__ import annotations

from cozegate.errors import CozegateError


class InsufficientBalance(CozegateError):
    status_code = 402
    code = "insufficient_balance"


class PriceNotConfigured(CozegateError):
    status_code = 400
    code = "price_not_configured"


class DuplicateRequest(CozegateError):
    """A reservation for this request id exists already (request ids are single-use)."""

    status_code = 409
    code = "duplicate_request"


class ReservationNotFound(CozegateError):
    status_code = 404
    code = "reservation_not_found"


class PriceNotFound(CozegateError):
    status_code = 404
    code = "price_not_found"
