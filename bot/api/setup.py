"""/setup: create the GitHub App from `app.yml` with GitHub's manifest flow.

`GET /setup` shows a form that posts the manifest to GitHub; GitHub creates the App
and redirects to `/setup/callback?code=…&state=…`, where the code is exchanged for
the App's id, private key and webhook secret, which go to `.env`. Both routes answer
404 once an App is configured, so nobody can re-run the flow on a live service.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
from cachetools import TTLCache
from pydantic import Field
from starlette.requests import Request
from starlette.responses import HTMLResponse

from bot.api.auth import token_matches
from bot.api.declare import Answer, Api, error
from bot.api.errors import ApiError, NotFound
from bot.api.fields import GITHUB_OWNER, Matches, NonEmpty
from bot.api.models import Query
from bot.setup.envfile import add_missing
from bot.setup.manifest import APP_YML, load_manifest, new_app_url
from bot.setup.pages import INSTALLED, done_page, page, platform_values, setup_form

log = logging.getLogger(__name__)

CODE = r"^[A-Za-z0-9_-]{1,200}$"
HTML = "text/html"
api = Api("install")
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


class SetupQuery(Query):
    org: Annotated[
        str | None,
        Matches(f"^({GITHUB_OWNER[1:-1]})?$", "is not a GitHub organisation name"),
        Field(description="Create the App for this organisation (empty: for your account)."),
    ] = None


@api.get(
    "/setup",
    summary="Create the GitHub App from app.yml (only while none is configured)",
    query=SetupQuery,
    guard=_require_unconfigured,
    answers=[
        Answer(200, "A page that posts the manifest to GitHub.", media=(HTML,)),
        error(400, "`org` is not a GitHub organisation name."),
        error(404, "An App is configured already."),
    ],
)
async def show_setup(request: Request, query: SetupQuery) -> HTMLResponse:
    setup = _require_unconfigured(request)
    settings = request.app.state.settings
    org = query.org or None
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


class CallbackQuery(Query):
    code: Annotated[
        str, Matches(CODE, "is not a manifest code"), Field(description="GitHub's one-time code.")
    ]
    state: Annotated[str, NonEmpty("is required"), Field(description="The value /setup sent.")]


@api.get(
    "/setup/callback",
    summary="GitHub's redirect after the App was created: store its credentials",
    query=CallbackQuery,
    guard=_require_unconfigured,
    answers=[
        Answer(200, "A page linking to the App's installation.", media=(HTML,)),
        error(400, "A missing or malformed code or state, or one GitHub refused."),
        error(403, "A state this service did not hand out (or handed out before)."),
        error(404, "An App is configured already."),
        error(502, "GitHub did not answer, or answered without the App."),
    ],
)
async def setup_callback(request: Request, query: CallbackQuery) -> HTMLResponse:
    setup = _require_unconfigured(request)
    if not _take_state(setup, query.state):
        raise ApiError(403, "the state does not match one this service handed out; start at /setup")

    settings = request.app.state.settings
    app = await convert(settings.github_api_url, query.code)
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


@api.get(
    "/setup/installed",
    summary="Where GitHub sends you after installing the App (app.yml's setup_url)",
    answers=[Answer(200, "A page saying what happens next.", media=(HTML,))],
)
async def installed(request: Request) -> HTMLResponse:
    """Where GitHub sends the user after installing the App (`setup_url` in app.yml)."""
    return page("Reviewer is installed", INSTALLED)
