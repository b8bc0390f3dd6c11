"""A property-based fuzz of the JSON API from its own OpenAPI description (schemathesis):
whatever the parameters, no server error, and every answer matches the description (its
status codes, content types and schemas)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("schemathesis")

import hypothesis
import schemathesis

from cairn.web.app import build_app
from tests.test_web_api import make_home

schema = schemathesis.openapi.from_asgi("/openapi.json", build_app(cache=True))


@pytest.fixture
def home(make_repo: Callable[..., Path]) -> Path:
    return make_home(make_repo)


@schema.parametrize()
@hypothesis.settings(
    max_examples=int(os.environ.get("CAIRN_FUZZ_EXAMPLES", "60")),
    derandomize="CAIRN_FUZZ_EXAMPLES" not in os.environ,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
def test_the_api_never_fails_with_a_server_error(case: Any, home: Path) -> None:
    answer = case.call()
    assert answer.status_code < 500, (case.path, case.path_parameters, case.query, answer.text)
    # names that fit the patterns may still be refused (`a..b`): 400 is an answer, not a bug
    case.validate_response(answer, excluded_checks=[schemathesis.checks.positive_data_acceptance])
