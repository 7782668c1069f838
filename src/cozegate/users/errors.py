"""Errors of the users domain."""

from __future__ import annotations

from cozegate.errors import CozegateError


class UserNotFound(CozegateError):
    status_code = 404
    code = "user_not_found"


class GroupNotFound(CozegateError):
    status_code = 404
    code = "group_not_found"


class NameTaken(CozegateError):
    status_code = 409
    code = "name_taken"
