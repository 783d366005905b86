"""The App manifest from `app.yml`, and the GitHub URLs of the manifest flow (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import yaml

from bot.paths import shipped

APP_YML = shipped("app.yml")
PLACEHOLDER = "{PUBLIC_URL}"


def fill(value: Any, public_url: str) -> Any:
    """`value` with every `{PUBLIC_URL}` in its strings replaced, at any depth."""
    if isinstance(value, str):
        return value.replace(PLACEHOLDER, public_url.rstrip("/"))
    if isinstance(value, list):
        return [fill(item, public_url) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, public_url) for key, item in value.items()}
    return value


def load_manifest(path: Path, public_url: str) -> dict[str, Any]:
    """The manifest GitHub receives: `app.yml` with this service's PUBLIC_URL filled in."""
    manifest = yaml.safe_load(path.read_text())
    if not isinstance(manifest, dict):
        raise ValueError(f"{path} does not hold a YAML mapping")
    return fill(manifest, public_url)


def web_url(api_url: str) -> str:
    """GitHub's web address for an API address.

    `https://api.github.com` -> `https://github.com`; GitHub Enterprise Server serves
    its API under the web host: `https://HOST/api/v3` -> `https://HOST`.
    """
    parts = urlsplit(api_url.rstrip("/"))
    host = parts.netloc
    if host == "api.github.com":
        return "https://github.com"
    if host.startswith("api.") and not parts.path:
        # GitHub Enterprise Cloud with data residency: api.HOST serves HOST.
        host = host[len("api.") :]
    return f"{parts.scheme}://{host}"


def new_app_url(api_url: str, state: str, org: str | None = None) -> str:
    """Where the manifest form posts: the personal account's or an organisation's new-App page."""
    base = web_url(api_url)
    if org:
        base += f"/organizations/{quote(org, safe='')}"
    return f"{base}/settings/apps/new?{urlencode({'state': state})}"


def installation_url(app: dict[str, Any]) -> str:
    """The page where the new App is installed on accounts and repositories."""
    return f"{app['html_url'].rstrip('/')}/installations/new"
