"""The API's OpenAPI schema fuzzed with schemathesis (bounded): whatever the paths, headers and bodies,
the server answers with a documented 4xx or a success, never a 5xx, and never spends a unit it did not
answer."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from worker.serve import create_app

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def api_schema(serving: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(serving.service))


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    database=None,
    derandomize=True,  # the same cases every run: a failure is reproducible, the suite's time is fixed
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_input_makes_the_server_fail(case: Any, serving: Any) -> None:
    response = case.call()
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]
    assert serving.receipts.count() == 0  # no valid payment exists: nothing may be answered or spent
