"""GET /: the team dashboard, a static page whose script draws itself from the read API.

The page, its script and its style sheet are files in the package: no build step, no
external resources, nothing rendered on the server (so nothing there to escape).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).with_name("static") / "dashboard"

HEADERS = {
    # Only our own script, style and API; the data it shows can never bring a script in.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}


@cache
def _page() -> str:
    return (ASSETS / "index.html").read_text()


async def dashboard(request: Request) -> HTMLResponse:
    return HTMLResponse(_page(), headers=HEADERS)


routes: list[BaseRoute] = [
    Route("/", dashboard, methods=["GET"]),
    # StaticFiles answers If-None-Match / If-Modified-Since with 304 by itself.
    Mount("/assets", StaticFiles(directory=ASSETS), name="assets"),
]
