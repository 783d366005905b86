"""GET /: the team dashboard, a static page whose script draws itself from the read API.

The page, its script and its style sheet are files in the package: no build step, no
external resources, nothing rendered on the server (so nothing there to escape).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from bot.api.declare import Answer, Api

api = Api("dashboard")
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


@api.get(
    "/",
    summary="The team dashboard (a page drawn from the read API)",
    answers=[Answer(200, "HTML.", media=("text/html",))],
)
async def dashboard(request: Request) -> HTMLResponse:
    return HTMLResponse(_page(), headers=HEADERS)


# Its script and style sheet; StaticFiles answers If-None-Match with 304 by itself.
assets = Mount("/assets", StaticFiles(directory=ASSETS), name="assets")
