"""The GitHub App manifest flow, end to end, with respx standing in for GitHub."""

from __future__ import annotations

import html
import json
import stat
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from dotenv import dotenv_values
from starlette.testclient import TestClient

from bot.app import create_app
from bot.settings import Settings, load_settings
from bot.setup.manifest import new_app_url, web_url

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nline2\n-----END RSA PRIVATE KEY-----\n"


class Forms(HTMLParser):
    """The forms of a page: action, method and their inputs' values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.forms.append(
                {"action": values["action"], "method": values["method"], "inputs": {}}
            )
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"][values.get("name")] = values.get("value")
        elif tag == "a":
            self.links.append(values.get("href") or "")


def parse(html: str) -> Forms:
    forms = Forms()
    forms.feed(html)
    return forms


def conversion(app_id: int = 4242) -> dict:
    return {
        "id": app_id,
        "slug": "reviewer-acme",
        "name": "Reviewer (acme)",
        "html_url": "https://github.com/apps/reviewer-acme",
        "pem": PEM,
        "webhook_secret": "whsec-from-github",
        "client_id": "Iv1.abc",
        "client_secret": "client-secret",
    }


@pytest.fixture
def setup_client(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> Iterator[Callable[..., TestClient]]:
    """A TestClient whose manifest flow writes to tmp_path/.env."""
    clients: list[TestClient] = []

    def make(**env: str) -> TestClient:
        # No App configured: the fixture's settings carry a webhook secret by default.
        env.setdefault("GITHUB_WEBHOOK_SECRET", None)  # type: ignore[arg-type]
        app = create_app(make_settings(**env))
        app.state.setup.env_file = tmp_path / ".env"
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def start(client: TestClient, org: str | None = None) -> tuple[str, dict, str]:
    """GET /setup; return the form's action, the manifest it posts and the state."""
    response = client.get("/setup", params={"org": org} if org else None)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    post = next(f for f in parse(response.text).forms if f["method"] == "post")
    state = parse_qs(urlsplit(post["action"]).query)["state"][0]
    return post["action"], json.loads(post["inputs"]["manifest"]), state


def test_setup_page_posts_the_filled_manifest_to_github(setup_client) -> None:
    client = setup_client()
    action, manifest, state = start(client)
    assert action == f"https://github.com/settings/apps/new?state={state}"
    assert len(state) >= 32
    assert manifest["hook_attributes"]["url"] == "http://reviewer.test/github/webhooks"
    assert manifest["redirect_url"] == "http://reviewer.test/setup/callback"
    assert manifest["setup_url"] == "http://reviewer.test/setup/installed"
    assert "{PUBLIC_URL}" not in json.dumps(manifest)
    assert set(manifest["default_events"]) >= {"pull_request", "pull_request_review"}
    assert "GitHub cannot reach this address" not in client.get("/setup").text
    # Every visit hands out a state of its own.
    assert start(client)[2] != state


def test_setup_for_an_organisation_on_github_enterprise(setup_client) -> None:
    client = setup_client(GITHUB_API_URL="https://ghe.example.com/api/v3")
    action, manifest, state = start(client, org="acme-corp")
    assert action == (
        f"https://ghe.example.com/organizations/acme-corp/settings/apps/new?state={state}"
    )
    assert manifest["name"] == "Reviewer"


def test_setup_warns_when_github_cannot_reach_public_url(setup_client) -> None:
    client = setup_client(PUBLIC_URL="http://localhost:8000")
    _, manifest, _ = start(client)
    assert manifest["hook_attributes"]["url"] == "http://localhost:8000/github/webhooks"
    assert "GitHub cannot reach this address" in client.get("/setup").text


def test_setup_refuses_a_malformed_organisation(setup_client) -> None:
    response = setup_client().get("/setup", params={"org": "acme/../evil"})
    assert response.status_code == 400
    assert "org" in response.json()["errors"]


def test_web_url_of_api_urls() -> None:
    assert web_url("https://api.github.com") == "https://github.com"
    assert web_url("https://ghe.example.com/api/v3") == "https://ghe.example.com"
    assert web_url("https://ghe.example.com/api/v3/") == "https://ghe.example.com"
    assert web_url("https://api.acme.ghe.com") == "https://acme.ghe.com"
    assert new_app_url("https://api.github.com", "a b") == (
        "https://github.com/settings/apps/new?state=a+b"
    )


@respx.mock
def test_callback_saves_the_app_and_closes_setup(setup_client, tmp_path: Path) -> None:
    client = setup_client()
    _, _, state = start(client)
    route = respx.post("https://api.github.com/app-manifests/abc123/conversions").mock(
        return_value=httpx.Response(201, json=conversion())
    )

    response = client.get("/setup/callback", params={"code": "abc123", "state": state})

    assert response.status_code == 200, response.text
    assert route.call_count == 1
    assert "https://github.com/apps/reviewer-acme/installations/new" in parse(response.text).links
    assert response.headers["cache-control"] == "no-store"
    # For platforms whose files vanish: the same lines, once, on the page.
    assert 'GITHUB_WEBHOOK_SECRET="whsec-from-github"' in html.unescape(response.text)
    env_file = tmp_path / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    saved = dotenv_values(env_file)
    assert saved["GITHUB_APP_ID"] == "4242"
    assert saved["GITHUB_WEBHOOK_SECRET"] == "whsec-from-github"
    assert saved["GITHUB_PRIVATE_KEY"] == PEM
    # The App's OAuth client, for "Sign in with GitHub".
    assert saved["GITHUB_CLIENT_ID"] == "Iv1.abc"
    assert saved["GITHUB_CLIENT_SECRET"] == "client-secret"
    # One line per setting: the key is escaped, not spread over lines.
    assert len(env_file.read_text().splitlines()) == 5
    # The service reads the file back as a configured App.
    reread = load_settings({"DATABASE_URL": "sqlite:///x.db"}, env_file=env_file)
    assert reread.github_app_configured
    assert reread.github_private_key == PEM.strip()
    # From the next start, reads need a GitHub sign-in (or a token).
    assert reread.read_access == "github"
    # The running process knows it is configured now.
    assert client.get("/setup").status_code == 404
    assert client.get("/setup").json()["detail"].startswith("setup")
    assert client.app.state.settings.github_webhook_secret == "whsec-from-github"
    again = client.get("/setup/callback", params={"code": "abc123", "state": state})
    assert again.status_code == 404
    assert route.call_count == 1


@respx.mock
def test_callback_keeps_values_already_in_env(setup_client, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DATABASE_URL=sqlite:///mine.db\nGITHUB_WEBHOOK_SECRET=chosen-by-me")
    env_file.chmod(0o644)
    client = setup_client()
    _, _, state = start(client)
    respx.post("https://api.github.com/app-manifests/c0de/conversions").mock(
        return_value=httpx.Response(201, json=conversion(7))
    )

    response = client.get("/setup/callback", params={"code": "c0de", "state": state})

    assert response.status_code == 200
    assert "GITHUB_WEBHOOK_SECRET</code> already had a value" in response.text
    saved = dotenv_values(env_file)
    assert saved == {
        "DATABASE_URL": "sqlite:///mine.db",
        "GITHUB_WEBHOOK_SECRET": "chosen-by-me",
        "GITHUB_APP_ID": "7",
        "GITHUB_PRIVATE_KEY": PEM,
        "GITHUB_CLIENT_ID": "Iv1.abc",
        "GITHUB_CLIENT_SECRET": "client-secret",
    }
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


@respx.mock
def test_callback_warns_about_values_the_environment_holds(setup_client) -> None:
    client = setup_client(GITHUB_WEBHOOK_SECRET="from-the-environment")
    _, _, state = start(client)
    respx.post(url__regex=r".*/conversions").mock(
        return_value=httpx.Response(201, json=conversion())
    )
    response = client.get("/setup/callback", params={"code": "abc", "state": state})
    assert response.status_code == 200
    assert (
        "<code>GITHUB_WEBHOOK_SECRET</code> is also set in the environment, which wins"
        in response.text
    )
    assert client.app.state.settings.github_webhook_secret == "whsec-from-github"


@respx.mock
def test_callback_shows_the_values_when_env_cannot_be_written(setup_client, tmp_path) -> None:
    client = setup_client()
    client.app.state.setup.env_file = tmp_path / "missing" / ".env"
    _, _, state = start(client)
    respx.post(url__regex=r".*/conversions").mock(
        return_value=httpx.Response(201, json=conversion())
    )
    response = client.get("/setup/callback", params={"code": "abc", "state": state})
    assert response.status_code == 200
    assert "could not be written (No such file or directory)" in response.text
    assert "<details open>" in response.text
    assert "GITHUB_APP_ID=&quot;4242&quot;" in response.text
    assert client.app.state.settings.github_app_configured
    assert client.get("/setup").status_code == 404


@respx.mock
def test_callback_with_a_wrong_state_never_reaches_github(setup_client, tmp_path: Path) -> None:
    client = setup_client()
    _, _, state = start(client)
    route = respx.post(url__regex=r".*/conversions").mock(
        return_value=httpx.Response(201, json=conversion())
    )
    wrong = client.get("/setup/callback", params={"code": "abc", "state": state[:-1] + "x"})
    assert wrong.status_code == 403
    missing = client.get("/setup/callback", params={"code": "abc"})
    assert missing.status_code == 400
    assert missing.json()["errors"] == {"state": "is required"}
    bad_code = client.get("/setup/callback", params={"code": "../x", "state": state})
    assert bad_code.status_code == 400
    assert route.call_count == 0
    assert not (tmp_path / ".env").exists()
    assert client.get("/setup").status_code == 200


@respx.mock
def test_callback_with_an_expired_code_leaves_setup_open(setup_client, tmp_path: Path) -> None:
    client = setup_client()
    _, _, state = start(client)
    respx.post("https://api.github.com/app-manifests/old/conversions").mock(
        return_value=httpx.Response(404, json={"message": "Not Found"})
    )
    response = client.get("/setup/callback", params={"code": "old", "state": state})
    assert response.status_code == 400
    assert "start again at /setup" in response.json()["detail"]
    assert not (tmp_path / ".env").exists()
    assert client.get("/setup").status_code == 200


@respx.mock
def test_callback_when_github_is_down(setup_client) -> None:
    client = setup_client()
    _, _, state = start(client)
    respx.post(url__regex=r".*/conversions").mock(side_effect=httpx.ConnectError("down"))
    response = client.get("/setup/callback", params={"code": "abc", "state": state})
    assert response.status_code == 502
    assert response.json()["detail"] == "GitHub did not answer: ConnectError"


def test_setup_is_gone_once_an_app_is_configured(setup_client) -> None:
    client = setup_client(GITHUB_APP_ID="12", GITHUB_PRIVATE_KEY=PEM)
    assert client.get("/setup").status_code == 404
    assert client.get("/setup/callback", params={"code": "a", "state": "b"}).status_code == 404
    assert client.get("/setup/installed").status_code == 200
