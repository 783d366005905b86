"""/setup: create the GitHub App from `app.yml` with GitHub's manifest flow.

`GET /setup` shows a form that posts the manifest to GitHub; GitHub creates the App
and redirects to `/setup/callback?code=…&state=…`, where the code is exchanged for
the App's id, private key and webhook secret, which go to `.env`. Both routes answer
404 once an App is configured, so nobody can re-run the flow on a live service.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cachetools import TTLCache
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from bot.api.auth import token_matches
from bot.api.errors import ApiError, NotFound
from bot.api.params import invalid_query
from bot.api.projects import OWNER_RE
from bot.setup.envfile import add_missing
from bot.setup.manifest import APP_YML, load_manifest, new_app_url
from bot.setup.pages import INSTALLED, done_page, page, platform_values, setup_form

log = logging.getLogger(__name__)

CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
# GitHub's manifest codes expire after an hour; a state lives as long.
STATE_TTL_SECONDS = 3600


@dataclass
class SetupState:
    """What the manifest flow keeps on `app.state.setup`; tests point the paths elsewhere."""

    env_file: Path = field(default_factory=lambda: Path(".env"))
    manifest_path: Path = APP_YML
    # States handed out by GET /setup, each good for one callback.
    states: TTLCache = field(default_factory=lambda: TTLCache(maxsize=64, ttl=STATE_TTL_SECONDS))
    done: bool = False


def _require_unconfigured(request: Request) -> SetupState:
    setup: SetupState = request.app.state.setup
    if setup.done or request.app.state.settings.github_app_configured:
        raise NotFound("setup (a GitHub App is already configured)")
    return setup


async def show_setup(request: Request) -> HTMLResponse:
    setup = _require_unconfigured(request)
    settings = request.app.state.settings
    org = request.query_params.get("org", "").strip() or None
    if org is not None and not OWNER_RE.match(org):
        raise invalid_query({"org": "is not a GitHub organisation name"})
    state = secrets.token_urlsafe(32)
    setup.states[state] = True
    manifest = load_manifest(setup.manifest_path, settings.public_url)
    action = new_app_url(settings.github_api_url, state, org)
    return page("Create Reviewer's GitHub App", setup_form(manifest, action, org))


def _take_state(setup: SetupState, given: str) -> bool:
    """Check the callback's state in constant time; a state works once."""
    setup.states.expire()
    if not token_matches(given, tuple(setup.states)):
        return False
    setup.states.pop(given, None)
    return True


async def convert(api_url: str, code: str) -> dict[str, Any]:
    """Exchange the manifest code for the new App (id, pem, webhook_secret, html_url…)."""
    url = f"{api_url}/app-manifests/{code}/conversions"
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(url, headers={"Accept": "application/vnd.github+json"})
    except httpx.HTTPError as exc:
        raise ApiError(502, f"GitHub did not answer: {type(exc).__name__}") from None
    if response.status_code >= 500:
        raise ApiError(502, f"GitHub failed to convert the manifest (HTTP {response.status_code})")
    if response.status_code != 201:
        raise ApiError(
            400,
            f"GitHub did not accept the code (HTTP {response.status_code}); "
            "codes work once and for an hour, start again at /setup",
        )
    app = response.json()
    missing = [k for k in ("id", "pem", "webhook_secret", "html_url") if not app.get(k)]
    if missing:
        raise ApiError(502, f"GitHub's answer lacks {', '.join(missing)}")
    return app


async def setup_callback(request: Request) -> HTMLResponse:
    setup = _require_unconfigured(request)
    code = request.query_params.get("code", "")
    state = request.query_params.get("state", "")
    if not code or not state:
        raise invalid_query(
            {k: "is required" for k, v in (("code", code), ("state", state)) if not v}
        )
    if not CODE_RE.match(code):
        raise invalid_query({"code": "is not a manifest code"})
    if not _take_state(setup, state):
        raise ApiError(403, "the state does not match one this service handed out; start at /setup")

    settings = request.app.state.settings
    app = await convert(settings.github_api_url, code)
    values = {
        "GITHUB_APP_ID": str(app["id"]),
        "GITHUB_PRIVATE_KEY": app["pem"],
        "GITHUB_WEBHOOK_SECRET": app["webhook_secret"],
    }
    save_error = None
    try:
        written, kept = add_missing(setup.env_file, values)
    except OSError as exc:  # a read-only file system, say: the page shows the values
        written, kept, save_error = [], [], exc.strerror or type(exc).__name__
        log.error("cannot write the App's settings", extra={"error": save_error})
    # Values the environment already held: it wins over .env at the next start.
    shadowed = [k for k in values if k not in kept and getattr(settings, k.lower())]
    # This process acts as the new App from now on, as it will after a restart.
    new = {k.lower(): v for k, v in values.items() if k not in kept}
    request.app.state.settings = settings.model_copy(update=new)
    setup.done = True
    log.info("GitHub App created", extra={"app_id": app["id"], "written": written, "kept": kept})
    body = done_page(app, setup.env_file, written, kept, shadowed, save_error)
    return page("Reviewer's GitHub App is ready", body + platform_values(values, save_error))


async def installed(request: Request) -> HTMLResponse:
    """Where GitHub sends the user after installing the App (`setup_url` in app.yml)."""
    return page("Reviewer is installed", INSTALLED)


routes = [
    Route("/setup", show_setup, methods=["GET"]),
    Route("/setup/callback", setup_callback, methods=["GET"]),
    Route("/setup/installed", installed, methods=["GET"]),
]
