"""The declared shapes say what the server does: each field type's JSON Schema accepts
exactly what its check accepts, and the routes' 405s and query checks match the document."""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any

import jsonschema_rs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.testclient import TestClient

from bot.api.declare import Answer, Api, api_routes, error, operations_of, query_values
from bot.api.errors import EXCEPTION_HANDLERS
from bot.api.fields import GitHubOwner, GitHubRepo, Id, Text
from bot.api.models import MetadataKey
from bot.api.openapi import openapi_spec

SHAPES: dict[str, Any] = {
    "text": Text,
    "owner": GitHubOwner,
    "repo": GitHubRepo,
    "metadata key": MetadataKey,
}
# Characters near the rules' edges: controls, Unicode spaces, GitHub's punctuation.
EDGES = st.sampled_from(list(" \t\n\r\x00\x1f\x7f\x85\xa0\u2003\u3000\ufeff.-_aZ9é"))
# No lone surrogates: the JSON reader refuses them before any field sees them.
TEXTS = st.text(st.one_of(EDGES, st.characters(exclude_categories=["Cs"])), max_size=300)


@cache
def adapter(shape: Any) -> TypeAdapter[Any]:
    return TypeAdapter(shape)


def server_accepts(shape: Any, value: Any) -> bool:
    try:
        adapter(shape).validate_python(value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("name", SHAPES)
@settings(max_examples=300, deadline=None)
@given(value=TEXTS)
@example(value="")
@example(value=" ")
@example(value="\u3000")
@example(value="a\n")
@example(value="x" * 256)
@example(value=".")
@example(value="..")
@example(value="...")
@example(value="-docker")
def test_the_document_accepts_what_the_server_accepts(name: str, value: str) -> None:
    shape = SHAPES[name]
    schema = adapter(shape).json_schema()
    assert schema_allows(schema, value) == server_accepts(shape, value), (name, value, schema)


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(st.integers(), st.text(max_size=12), st.booleans(), st.none()))
@example(value="12")
@example(value="")
@example(value=" 12")
@example(value="1_000")
@example(value="+5")
@example(value="12.0")
@example(value="\uff11")
def test_an_id_is_the_documented_integer_or_its_ascii_digits(value: Any) -> None:
    schema = adapter(Id).json_schema()
    if isinstance(value, str):  # a path or query value: the digits of a documented integer
        documented = value.isascii() and value.isdigit() and schema_allows(schema, int(value))
    else:
        documented = schema_allows(schema, value)
    assert documented == server_accepts(Id, value)


def schema_allows(schema: dict[str, Any], value: Any) -> bool:
    """As a JSON Schema validator reads it: patterns are ECMA-262, where `$` is the end of
    the text (Python's `jsonschema` reads `re`'s `$`, which also passes "a\n")."""
    return validator(json.dumps(schema)).is_valid(value)


@cache
def validator(schema: str) -> Any:
    return jsonschema_rs.validator_for(json.loads(schema))


def test_every_405_allows_every_documented_method(client: TestClient) -> None:
    spec = client.get("/docs.json").json()
    for path, operations in spec["paths"].items():
        url = path.replace("{id}", "1")
        documented = {method.upper() for method in operations}
        unused = next(m for m in ("PUT", "PATCH", "DELETE", "POST") if m not in documented)
        response = client.request(unused, url)
        assert response.status_code == 405, (unused, url)
        allowed = {m.strip() for m in response.headers["allow"].split(",")}
        assert documented <= allowed, (path, documented, allowed)
        assert response.json() == {"detail": "Method Not Allowed"}


@pytest.mark.parametrize(
    "url",
    [
        "/v1/projects?page=",
        "/v1/projects?per_page=",
        "/v1/pull_requests?project_id=",
        "/v1/users/1?details=",
        "/v1/users/1?details=yes",
        "/v1/pull_requests?page=1.0",
        "/v1/pull_requests?user_id=+1",
    ],
)
def test_query_values_the_document_does_not_allow_are_400(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 400, response.text
    name = url.split("?")[1].split("=")[0]
    assert list(response.json()["errors"]) == [name]
    assert response.json()["detail"].startswith(f"invalid query: {name}: ")


def test_the_approval_token_and_the_signatures_are_declared(client: TestClient) -> None:
    spec = client.get("/docs.json").json()
    security = {
        (path, method): [name for entry in op.get("security", []) for name in entry]
        for path, operations in spec["paths"].items()
        for method, op in operations.items()
    }
    mutating = {key for key in security if key[1] in ("post", "patch", "delete")}
    assert security[("/approval", "get")] == ["approvalToken"]
    assert security[("/github/webhooks", "post")] == ["githubSignature"]
    assert security[("/slack/events", "post")] == ["slackSignature"]
    assert security[("/release", "post")] == ["bearer"]
    # Signing out needs nothing: it only removes this browser's cookie.
    assert security[("/logout", "post")] == []
    for key in mutating - {
        ("/approval", "post"),
        ("/github/webhooks", "post"),
        ("/logout", "post"),
    }:
        if key != ("/slack/events", "post"):
            assert security[key] == ["bearer"], key
    schemes = spec["components"]["securitySchemes"]
    assert schemes["approvalToken"] == {**schemes["approvalToken"], "in": "query", "name": "token"}


class AzureHeaders(BaseModel):
    plan_url: Annotated[str, Field(alias="PlanUrl", description="Azure's plan URL.")]
    job_id: Annotated[str | None, Field(alias="JobId")] = None


def echo_app() -> Starlette:
    """A route declared the way bot/api/declare.py says, with request headers."""
    api = Api("test")

    @api.get(
        "/echo",
        summary="Echo the headers",
        headers=AzureHeaders,
        answers=[Answer(200, "What was read.", dict[str, Any]), error(400, "Bad headers.")],
    )
    async def echo(request: Any, headers: AzureHeaders) -> dict[str, Any]:
        return headers.model_dump()

    return Starlette(routes=api_routes(api), exception_handlers=EXCEPTION_HANDLERS)


def test_declared_request_headers_are_read_in_any_case_and_documented() -> None:
    app = echo_app()
    with TestClient(app) as client:
        read = client.get("/echo", headers={"planurl": "https://dev.azure.com/x/"})
        assert read.json() == {"plan_url": "https://dev.azure.com/x/", "job_id": None}
        missing = client.get("/echo", headers={"JobId": "7"})
        assert missing.status_code == 400
        assert missing.json() == {
            "detail": "invalid headers: PlanUrl: is required",
            "errors": {"PlanUrl": "is required"},
        }
    spec = openapi_spec(tuple(operations_of(app.routes)), "http://test")
    parameters = spec["paths"]["/echo"]["get"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in parameters] == [
        ("PlanUrl", "header", True),
        ("JobId", "header", False),
    ]
    assert "AzureHeaders" not in spec["components"]["schemas"]


QUERY_PARTS = st.text(st.sampled_from(list("ab=&%2Gé+ ;\x00")), max_size=30)


@given(raw=st.one_of(QUERY_PARTS.map(lambda q: q.encode()), st.binary(max_size=30)))
@example(raw=b"per_page=1&per_page=5")
@example(raw=b"details=true&details")
@example(raw=b"a=%ZZ&b=%C3%A9&c=%E9")
def test_the_query_values_kept_by_raw_query_are_starlettes_query_params(raw: bytes) -> None:
    """The routes read a query as Starlette would (the last of repeated names), from a
    copy kept per raw query string, which nobody can change through what it hands out."""
    assert dict(query_values(raw)) == dict(QueryParams(raw))
    assert query_values(raw) is query_values(raw)
    with pytest.raises(TypeError):
        query_values(raw)["x"] = "y"  # type: ignore[index]
