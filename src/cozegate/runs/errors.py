"""Errors of the runs package."""

from __future__ import annotations

from cozegate.errors import CozegateError


class RunNotFound(CozegateError):
    """No such run, or not one the caller may see (the same answer: ids are not probed)."""

    status_code = 404
    code = "run_not_found"
