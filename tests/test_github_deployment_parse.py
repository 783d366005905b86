"""A `deployment_protection_rule` payload read into its shape (pure; no database)."""

from __future__ import annotations

import pytest

from bot.github import parse
from bot.github.shapes import DeploymentProtectionDelivery, GitHubUser
from tests.webhook_client import payload

API = "https://api.github.com"
GHES = "https://ghe.example.com/api/v3"
RUN = "/repos/Codertocat/Hello-World/actions/runs/6234567890/deployment_protection_rule"


def test_the_sample_payload_reads_into_the_shape() -> None:
    delivery = parse.deployment_protection_delivery(
        payload("deployment_protection_rule/requested"), API
    )
    assert delivery == DeploymentProtectionDelivery(
        repository="Codertocat/Hello-World",
        environment="production",
        ref="main",
        sha="ec26c3e57ca3a959ca5aad62de7213c562f8c821",
        event="push",
        run_id=6234567890,
        run_url="https://github.com/Codertocat/Hello-World/actions/runs/6234567890",
        callback_url=API + RUN,
        installation_id=1,
        creator=GitHubUser(21031067, "Codertocat"),
    )


@pytest.mark.parametrize(
    ("url", "api_url", "run_id"),
    [
        (API + RUN, API, 6234567890),
        (API + RUN, API + "/", 6234567890),
        (GHES + RUN, GHES, 6234567890),
        (API + RUN.replace("Codertocat/Hello-World", "codertocat/hello-world"), API, 6234567890),
    ],
)
def test_the_run_s_review_endpoint_under_the_api_url(url, api_url, run_id) -> None:
    assert parse.callback_run_id(url, api_url, "Codertocat/Hello-World") == run_id


@pytest.mark.parametrize(
    "url",
    [
        "https://api.github.com.evil.test" + RUN,  # another host
        "http://api.github.com" + RUN,  # another scheme
        "https://api.github.com:8443" + RUN,  # another port
        "https://user:pw@api.github.com" + RUN,  # credentials in the URL
        API + RUN + "?x=1",
        API + RUN + "#x",
        API + RUN.replace("Hello-World", "Other"),  # another repository
        API + RUN.replace("6234567890", "12ab"),
        API + RUN.replace("deployment_protection_rule", "approve"),
        API + "/../repos" + RUN,
        GHES + RUN,  # GitHub Enterprise's URL while GITHUB_API_URL is github.com
        "not a url",
    ],
)
def test_anything_else_is_refused(url) -> None:
    with pytest.raises(parse.CallbackRefused):
        parse.callback_run_id(url, API, "Codertocat/Hello-World")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"environment": ""}, "payload.environment"),
        ({"environment": "prod\nuction"}, "control characters"),
        ({"environment": "x" * 201}, "longer than 200"),
        ({"deployment": {"sha": "abc"}}, "deployment.ref"),
        ({"installation": None}, "payload.installation"),
        ({"deployment_callback_url": None}, "deployment_callback_url"),
    ],
)
def test_malformed_payloads_name_the_field(changes, message) -> None:
    data = {**payload("deployment_protection_rule/requested"), **changes}
    with pytest.raises(parse.PayloadError, match=message):
        parse.deployment_protection_delivery(data, API)


def test_a_deployment_without_a_creator_has_none() -> None:
    data = payload("deployment_protection_rule/requested")
    del data["deployment"]["creator"]
    assert parse.deployment_protection_delivery(data, API).creator is None
