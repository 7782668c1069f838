"""Coze error codes → OpenAI errors: status, type, code, and traceability fields."""

from __future__ import annotations

import pytest

from cozegate import surfaces
from cozegate.protocol.error_map import (
    classify,
    coerce_code,
    error_from_coze,
    upstream_protocol_error,
    upstream_unavailable,
)
from cozegate.protocol.openai import error_body, invalid_request, model_not_found


@pytest.mark.parametrize(("coze", "status", "type_", "code"), [
    (4000, 400, "invalid_request_error", "invalid_request"),
    (4001, 404, "invalid_request_error", "conversation_not_found"),
    (4010, 400, "invalid_request_error", "context_length_exceeded"),
    (4011, 502, "upstream_error", "upstream_quota_exhausted"),
    (4013, 429, "rate_limit_error", "rate_limit_exceeded"),
    (4016, 409, "invalid_request_error", "conversation_busy"),
    (4020, 429, "rate_limit_error", "rate_limit_exceeded"),
    # the channel's credential: the gateway's problem, never a 401 to the client
    (4100, 502, "upstream_error", "upstream_auth_failed"),
    (4101, 403, "permission_error", "upstream_permission_denied"),
    (4200, 404, "invalid_request_error", "workflow_not_found"),
    (4302, 400, "invalid_request_error", "invalid_file"),
    (5000, 502, "upstream_error", "upstream_error"),
    (6003, 502, "upstream_error", "upstream_feature_unavailable"),
    (6023, 504, "upstream_error", "upstream_timeout"),
    (720702001, 502, "upstream_error", "upstream_error"),
    (429, 429, "rate_limit_error", "rate_limit_exceeded"),
    (503, 502, "upstream_error", "upstream_error"),
    (504, 504, "upstream_error", "upstream_timeout"),
    (None, 502, "upstream_error", "upstream_error"),
])
def test_classify(coze: int | None, status: int, type_: str, code: str) -> None:
    cls = classify(coze)
    assert (cls.status, cls.type, cls.code) == (status, type_, code)


def test_error_from_coze_carries_logid_and_debug_url() -> None:
    error = error_from_coze(4200, "workflow not published", logid="L1",
                            debug_url="https://www.coze.cn/work_flow?execute_id=1")
    assert error.status_code == 404
    assert error.body() == {"error": {
        "message": "Coze error 4200: workflow not published", "type": "invalid_request_error",
        "param": None, "code": "workflow_not_found", "coze_code": 4200, "logid": "L1",
        "debug_url": "https://www.coze.cn/work_flow?execute_id=1"}}


def test_error_body_minimal_keeps_all_openai_keys() -> None:
    assert error_body("bad key", type="authentication_error", code="invalid_api_key") == {
        "error": {"message": "bad key", "type": "authentication_error", "param": None,
                  "code": "invalid_api_key"}}


def test_gateway_side_helpers() -> None:
    assert invalid_request("x", param="messages").status_code == 400
    nf = model_not_found("gpt-4")
    assert (nf.status_code, nf.param, nf.openai_code) == (404, "model", "model_not_found")
    assert upstream_protocol_error("cut").status_code == 502


@pytest.mark.parametrize(("value", "expected"), [
    (4000, 4000), ("720702204", 720702204), (" 5000 ", 5000), ("", None), (None, None),
    (True, None), ("abc", None),
])
def test_coerce_code(value: object, expected: int | None) -> None:
    assert coerce_code(value) == expected


def test_app_surface_renders_the_same_body() -> None:
    # The app's exception handler (cozegate.surfaces) must render an OpenAIError exactly as
    # OpenAIError.body() does, so pre-stream and mid-stream errors look alike.
    error = error_from_coze(4013, "slow down", logid="L2")
    assert surfaces.error_body(surfaces.Surface.OPENAI, error) == error.body()
    coze = surfaces.error_body(surfaces.Surface.COZE, error)
    assert coze["code"] == 4013 and coze["detail"]["logid"] == "L2"


def test_upstream_unavailable() -> None:
    assert upstream_unavailable("down").status_code == 502
    assert upstream_unavailable("slow", timeout=True).status_code == 504
