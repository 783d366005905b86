"""The HTML pages of the manifest flow (pure: data in, markup out, everything escaped)."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse

from bot.setup.envfile import env_line
from bot.setup.manifest import installation_url

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


INSTALLED = (
    "<p>GitHub will now send this service the repositories' pull requests and reviews. "
    'Projects appear at <a href="/v1/projects">/v1/projects</a>.</p>'
)
