"""/docs.json, /docs.yaml and /docs: the OpenAPI description, and a page that renders it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from bot.api.declare import operations_of
from bot.api.openapi import openapi_spec

PAGE = Path(__file__).with_name("static") / "docs.html"


@cache
def _page() -> str:
    return PAGE.read_text()


def spec(request: Request) -> dict:
    operations = tuple(operations_of(request.app.routes))
    return openapi_spec(operations, request.app.state.settings.public_url)


async def docs_json(request: Request) -> JSONResponse:
    return JSONResponse(spec(request))


async def docs_yaml(request: Request) -> Response:
    text = yaml.safe_dump(spec(request), sort_keys=False, allow_unicode=True)
    return Response(text, media_type="application/yaml")


async def docs_page(request: Request) -> HTMLResponse:
    # Self-contained: no CDN, so it renders offline and behind strict firewalls.
    return HTMLResponse(_page())


routes = [
    Route("/docs", docs_page, methods=["GET"]),
    Route("/docs.json", docs_json, methods=["GET"]),
    Route("/docs.yaml", docs_yaml, methods=["GET"]),
]
