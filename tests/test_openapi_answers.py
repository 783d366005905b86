"""What the routes really answer matches /docs.json: each status is described for its
route, and each JSON body fits the schema described for that status."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from starlette.testclient import TestClient

from bot.api.declare import MAX_JSON_BYTES
from bot.app import create_app
from tests.factories import add_pull_request, add_request, add_review, add_user, at
from tests.slack_signing import signed_headers
from tests.webhook_client import deliver, payload


class Described:
    """Sends requests through the client and checks each answer against the description."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.spec = client.get("/docs.json").json()

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        for template, operations in self.spec["paths"].items():
            if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
                assert method in operations, f"{method.upper()} {template} is not described"
                return template, operations[method]
        raise AssertionError(f"{path} is not described")

    def __call__(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.client.request(method, url, **kwargs)
        template, operation = self.operation(method.lower(), response.request.url.path)
        status = str(response.status_code)
        where = f"{method} {url} answered {status}"
        assert status in operation["responses"], f"{where}, which {template} does not describe"
        media = response.headers.get("content-type", "").split(";")[0]
        if media == "application/json" and response.content:
            content = operation["responses"][status].get("content", {})
            assert "application/json" in content, f"{where} with JSON not described"
            schema = {
                **content["application/json"]["schema"],
                "components": self.spec["components"],
            }
            errors = [e.message for e in Draft202012Validator(schema).iter_errors(response.json())]
            assert not errors, f"{where}: {errors}"
        return response

    def post(self, url: str, **kwargs: Any) -> Any:
        """What `deliver()` calls to post a webhook."""
        return self("POST", url, **kwargs)


@pytest.fixture
def call(client: TestClient) -> Described:
    return Described(client)


def test_the_read_api_answers_as_described(call: Described, auth, run, db) -> None:
    project = {"name": "The Docker CLI", "repo_owner": "docker", "repo_name": "cli"}
    created = call("POST", "/v1/projects", json=project, headers=auth)
    assert created.status_code == 201
    assert call("POST", "/v1/projects", json=project, headers=auth).status_code == 409
    assert call("POST", "/v1/projects", json={"name": 1}, headers=auth).status_code == 400
    assert call("POST", "/v1/projects", json=project).status_code == 401
    wrong = {"Authorization": "Bearer wrong"}
    assert call("POST", "/v1/projects", json=project, headers=wrong).status_code == 403
    huge = b'{"name": "' + b"x" * MAX_JSON_BYTES + b'"}'
    assert call("POST", "/v1/projects", content=huge, headers=auth).status_code == 413
    project_id = created.json()["id"]
    assert call("GET", f"/v1/projects/{project_id}").status_code == 200
    assert call("GET", "/v1/projects/999").status_code == 404
    assert call("GET", "/v1/projects?per_page=1").status_code == 200
    assert call("GET", "/v1/projects?page=0").status_code == 400

    async def seed() -> tuple[int, int]:
        author = await add_user(db, "author")
        reviewer = await add_user(db, "reviewer", metadata={"slack_id": "U1"})
        pr = await add_pull_request(db, project_id, author, 1)
        await add_request(db, pr, reviewer, at(1))
        await add_review(db, pr, reviewer, "APPROVED", at(2))
        return reviewer, pr

    reviewer, pr = run(seed)
    assert call("GET", "/v1/users").status_code == 200
    assert call("GET", f"/v1/users/{reviewer}").status_code == 200
    assert call("GET", f"/v1/users/{reviewer}?details=true").status_code == 200
    assert call("GET", f"/v1/users/{reviewer}?details=maybe").status_code == 400
    assert call("GET", "/v1/users/999").status_code == 404
    patch = {"metadata": {"slack_id": "U2"}}
    assert call("PATCH", f"/v1/users/{reviewer}", json=patch, headers=auth).status_code == 204
    assert call("PATCH", f"/v1/users/{reviewer}", json={}, headers=auth).status_code == 400
    assert call("PATCH", "/v1/users/999", json=patch, headers=auth).status_code == 404
    assert call("GET", "/v1/pull_requests?state=all").status_code == 200
    assert call("GET", "/v1/pull_requests?state=shut").status_code == 400
    assert call("GET", f"/v1/pull_requests/{pr}").status_code == 200
    assert call("GET", f"/v1/pull_requests/{pr}?details=true").status_code == 200
    assert call("GET", "/v1/pull_requests/999").status_code == 404
    assert call("DELETE", f"/v1/users/{reviewer}", headers=auth).status_code == 204
    assert call("DELETE", f"/v1/users/{reviewer}", headers=auth).status_code == 404
    assert call("DELETE", f"/v1/projects/{project_id}", headers=auth).status_code == 204
    assert call("DELETE", f"/v1/projects/{project_id}", headers=auth).status_code == 404


def test_the_other_routes_answer_as_described(call: Described, auth) -> None:
    for url in ("/healthz", "/readyz", "/docs", "/docs.json", "/docs.yaml", "/setup"):
        assert call("GET", url).status_code == 200
    assert call("GET", "/setup?org=not/an-org").status_code == 400
    assert call("GET", "/setup/callback").status_code == 400
    assert call("GET", "/setup/callback?code=abc&state=made-up").status_code == 403
    assert call("GET", "/setup/installed").status_code == 200
    assert call("GET", "/v1/releases").status_code == 200
    assert call("GET", "/v1/releases/999").status_code == 404
    assert call("POST", "/release", json={}, headers=auth).status_code == 400
    assert call("POST", "/release", json={}).status_code == 401
    assert call("GET", "/approval").status_code == 401
    assert call("GET", "/approval?token=unknown").status_code == 404
    assert call("POST", "/approval?token=unknown").status_code == 404
    assert call("POST", "/slack/events", json={}).status_code == 503

    guid = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert deliver(call, "ping", payload("ping"), guid).status_code == 200
    assert deliver(call, "ping", payload("ping"), guid).status_code == 200
    assert deliver(call, "star", {"action": "created"}).status_code == 202
    assert deliver(call, "pull_request", {"action": "opened"}).status_code == 422
    assert deliver(call, "ping", payload("ping"), secret="wrong").status_code == 401
    assert call("POST", "/github/webhooks", content=b"{}").status_code == 401


def test_slack_answers_as_described(make_settings, fake_slack) -> None:
    with TestClient(create_app(make_settings(**fake_slack.env()))) as client:
        call = Described(client)
        body = b'{"type": "url_verification", "challenge": "c"}'
        assert call("POST", "/slack/events", content=body).status_code == 401  # unsigned
        assert call("POST", "/slack/events", content=body, headers=signed_headers(body)).json() == {
            "challenge": "c"
        }
