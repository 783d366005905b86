"""/setup: create the GitHub App from `app.yml` with GitHub's manifest flow.

`GET /setup` shows a form that posts the manifest to GitHub; GitHub creates the App
and redirects to `/setup/callback?code=…&state=…`, where the code is exchanged for
the App's id, private key and webhook secret, which go to `.env`. Both routes answer
404 once an App is configured, so nobody can re-run the flow on a live service.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import secrets
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cachetools import TTLCache
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from bot.api.auth import token_matches
from bot.api.errors import ApiError, NotFound, ValidationError
from bot.api.projects import OWNER_RE
from bot.setup.envfile import add_missing, env_line
from bot.setup.manifest import APP_YML, installation_url, load_manifest, new_app_url

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


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;
line-height:1.5}}input[type=text]{{padding:.3rem}}button{{padding:.4rem .9rem}}
code{{background:#f3f3f3;padding:0 .2rem}}</style></head>
<body><h1>{title}</h1>{body}</body></html>
"""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    # The pages carry one-time states and links; nothing should cache them.
    return HTMLResponse(
        PAGE.format(title=escape(title), body=body),
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")  # noqa: S104 (compared, not bound)


def local_warning(hook_url: str) -> str:
    """A warning when PUBLIC_URL is an address GitHub cannot deliver to."""
    host = urlsplit(hook_url).hostname or ""
    if host not in LOCAL_HOSTS and not host.endswith(".localhost"):
        return ""
    return (
        "<p><strong>GitHub cannot reach this address.</strong> Set <code>PUBLIC_URL</code> to "
        "a public one (a tunnel will do, see the README) and restart before you go on, or "
        "change the App's webhook URL later.</p>"
    )


def setup_form(manifest: dict[str, Any], action: str, org: str | None) -> str:
    owner = f"the organisation <code>{escape(org)}</code>" if org else "your personal account"
    hook_url = manifest.get("hook_attributes", {}).get("url", "")
    return f"""
<p>This creates the GitHub App that Reviewer runs as, from <code>app.yml</code>, owned by
{owner}. GitHub asks you to confirm, then sends you back here and Reviewer saves the App's
id, private key and webhook secret to <code>.env</code>.</p>
<p>Webhooks will go to <code>{escape(hook_url)}</code>.</p>{local_warning(hook_url)}
<form action="{escape(action)}" method="post">
<input type="hidden" name="manifest" value="{escape(json.dumps(manifest))}">
<button type="submit">Create the GitHub App for {owner}</button>
</form>
<h2>For an organisation</h2>
<form action="/setup" method="get">
<label>Organisation <input type="text" name="org" value="{escape(org or "")}"
 pattern="[A-Za-z0-9][A-Za-z0-9-]{{0,38}}" required></label>
<button type="submit">Use this organisation</button>
</form>
<p><a href="/setup">Use my personal account</a></p>
"""


async def show_setup(request: Request) -> HTMLResponse:
    setup = _require_unconfigured(request)
    settings = request.app.state.settings
    org = request.query_params.get("org", "").strip() or None
    if org is not None and not OWNER_RE.match(org):
        raise ValidationError({"org": "is not a GitHub organisation name"})
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
        raise ValidationError(
            {k: "is required" for k, v in (("code", code), ("state", state)) if not v}
        )
    if not CODE_RE.match(code):
        raise ValidationError({"code": "is not a manifest code"})
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
    request.app.state.settings = dataclasses.replace(settings, **new)
    setup.done = True
    log.info("GitHub App created", extra={"app_id": app["id"], "written": written, "kept": kept})
    body = done_page(app, setup.env_file, written, kept, shadowed, save_error)
    return page("Reviewer's GitHub App is ready", body + platform_values(values, save_error))


def platform_values(values: dict[str, str], save_error: str | None) -> str:
    """The settings once more, for platforms whose files vanish on restart (Heroku, containers).

    Shown once, to whoever just created the App with a state only their browser had;
    GitHub would show its owner the same from the App's settings.
    """
    lines = "".join(env_line(key, value) for key, value in values.items())
    opened = " open" if save_error else ""
    return (
        f"<details{opened}><summary>Running on a platform whose files do not survive a restart "
        "(Heroku, most containers)? Set these as its config vars now.</summary>"
        f"<pre>{escape(lines)}</pre><p>This page is not shown again.</p></details>"
    )


def done_page(
    app: dict[str, Any],
    env_file: Path,
    written: list[str],
    kept: list[str],
    shadowed: list[str],
    save_error: str | None,
) -> str:
    def names(keys: list[str]) -> str:
        return ", ".join(f"<code>{k}</code>" for k in keys)

    name = escape(str(app.get("name") or app.get("slug") or "Reviewer"))
    body = f'<p>GitHub created the App <a href="{escape(app["html_url"])}">{name}</a>.</p>'
    where = f"<code>{escape(str(env_file.resolve()))}</code>"
    if save_error:
        body += (
            f"<p><strong>{where} could not be written ({escape(save_error)}).</strong> "
            "Set the values below where Reviewer reads its settings.</p>"
        )
    if written:
        body += f"<p>Saved {names(written)} to {where} (readable by its owner only).</p>"
    if kept:
        body += (
            f"<p><strong>{names(kept)} already had a value in <code>.env</code>, which was "
            "left as it is.</strong> Replace it with the new App's value, from the App's "
            "settings on GitHub, if it belongs to another App.</p>"
        )
    if shadowed:
        body += (
            f"<p><strong>{names(shadowed)} is also set in the environment, which wins over "
            "<code>.env</code>.</strong> Replace it there with the new value below.</p>"
        )
    body += (
        f'<p><a href="{escape(installation_url(app))}">Install the App</a> on the accounts and '
        "repositories Reviewer should follow, then restart Reviewer so that every part of it "
        "uses the new App.</p>"
    )
    return body


async def installed(request: Request) -> HTMLResponse:
    """Where GitHub sends the user after installing the App (`setup_url` in app.yml)."""
    return page(
        "Reviewer is installed",
        "<p>GitHub will now send this service the repositories' pull requests and reviews. "
        'Projects appear at <a href="/v1/projects">/v1/projects</a>.</p>',
    )


routes = [
    Route("/setup", show_setup, methods=["GET"]),
    Route("/setup/callback", setup_callback, methods=["GET"]),
    Route("/setup/installed", installed, methods=["GET"]),
]
