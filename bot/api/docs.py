"""/docs.json, /docs.yaml and /docs: the OpenAPI description, and a page that renders it."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from bot.api.declare import JSON, Answer, Api, Operation, operations_of
from bot.api.openapi import openapi_spec

PAGE = Path(__file__).with_name("static") / "docs.html"
api = Api("ops")


@cache
def _page() -> str:
    return PAGE.read_text()


def spec(request: Request) -> dict[str, Any]:
    operations = tuple(operations_of(request.app.routes))
    return openapi_spec(operations, request.app.state.settings.public_url)


@api.get(
    "/docs",
    summary="This description as a page",
    answers=[Answer(200, "HTML.", media=("text/html",))],
)
async def docs_page(request: Request) -> HTMLResponse:
    # Self-contained: no CDN, so it renders offline and behind strict firewalls.
    return HTMLResponse(_page())


@api.get(
    "/docs.json",
    summary="This description as JSON",
    answers=[Answer(200, "OpenAPI 3.1.", media=(JSON,), schema={"type": "object"})],
)
async def docs_json(request: Request) -> JSONResponse:
    return JSONResponse(spec(request))


@api.get(
    "/docs.yaml",
    summary="This description as YAML",
    answers=[Answer(200, "OpenAPI 3.1.", media=("application/yaml",), schema={"type": "object"})],
)
async def docs_yaml(request: Request) -> Response:
    operations = tuple(operations_of(request.app.routes))
    text = as_yaml(operations, request.app.state.settings.public_url)
    return Response(text, media_type="application/yaml")


@cache
def as_yaml(operations: tuple[Operation, ...], public_url: str) -> str:
    """The document in YAML, written once (PyYAML takes a while over it)."""
    return yaml.safe_dump(openapi_spec(operations, public_url), sort_keys=False, allow_unicode=True)
