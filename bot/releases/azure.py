"""Azure DevOps' Invoke REST API check in callback mode: its headers as our shape (pure).

In callback ("asynchronous") mode Azure sends, as headers, where and how to post the
decision: the plan's events endpoint and a job access token (`AuthToken`, valid 48 h).
The token is a secret: kept apart from the release (release_secrets) and only until the
decision is delivered; never shown, never logged (repr=False).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from bot.api.errors import ValidationError

HEADERS = ("PlanUrl", "ProjectId", "HubName", "PlanId", "JobId", "TaskInstanceId", "AuthToken")
API_VERSION = "2.0-preview.1"
# GUIDs, and hub names such as "build" or "release": nothing that could change the path.
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MAX_URL = 2000
MAX_TOKEN = 10_000


@dataclass(frozen=True)
class AzureCheck:
    plan_url: str
    project_id: str
    hub_name: str
    plan_id: str
    job_id: str
    task_instance_id: str
    auth_token: str = field(repr=False)

    @property
    def events_url(self) -> str:
        """Where the decision goes: the plan's events (Post Event REST API)."""
        path = "/".join(
            [
                self.plan_url.rstrip("/"),
                quote(self.project_id),
                "_apis/distributedtask/hubs",
                quote(self.hub_name),
                "plans",
                quote(self.plan_id),
                "events",
            ]
        )
        return f"{path}?api-version={API_VERSION}"

    def details(self) -> dict[str, Any]:
        """What the release keeps and shows: everything but the token."""
        return {
            "plan_url": self.plan_url,
            "project_id": self.project_id,
            "hub_name": self.hub_name,
            "plan_id": self.plan_id,
            "job_id": self.job_id,
            "task_instance_id": self.task_instance_id,
        }


def _plan_url(value: str) -> str | None:
    """Why the PlanUrl is not one, or None when it is an http(s) URL without extras."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return "must be a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL"
    if parts.username is not None or parts.query or parts.fragment or len(value) > MAX_URL:
        return "must be a plain collection URL"
    return None


def azure_check(headers: Mapping[str, str]) -> AzureCheck | None:
    """The check's callback settings from the request headers; None when it sent none of
    them (a plain POST /release, or synchronous mode). 400 naming each header that is
    missing or malformed when only some came, or came wrong."""
    given = {name: headers.get(name.lower(), "").strip() for name in HEADERS}
    if not any(given.values()):
        return None
    errors: dict[str, str] = {}
    for name, value in given.items():
        if not value:
            errors[name] = "is required in callback mode"
        elif any(ord(ch) < 33 or ord(ch) == 127 for ch in value):
            errors[name] = "must not contain spaces or control characters"
        elif name == "PlanUrl":
            problem = _plan_url(value)
            if problem:
                errors[name] = problem
        elif name == "AuthToken":
            if len(value) > MAX_TOKEN:
                errors[name] = f"must be at most {MAX_TOKEN} characters"
        elif not ID.fullmatch(value):
            errors[name] = "must be an id (letters, digits, '.', '_', '-')"
    if errors:
        detail = "invalid Azure DevOps headers: " + "; ".join(f"{k} {v}" for k, v in errors.items())
        raise ValidationError(errors, detail=detail)
    return AzureCheck(
        plan_url=given["PlanUrl"],
        project_id=given["ProjectId"],
        hub_name=given["HubName"],
        plan_id=given["PlanId"],
        job_id=given["JobId"],
        task_instance_id=given["TaskInstanceId"],
        auth_token=given["AuthToken"],
    )


def task_completed(details: Mapping[str, Any], approved: bool) -> dict[str, Any]:
    """The event that completes the check: succeeded lets the stage run, failed stops it."""
    return {
        "name": "TaskCompleted",
        "taskId": details["task_instance_id"],
        "jobId": details["job_id"],
        "result": "succeeded" if approved else "failed",
    }


def events_url(details: Mapping[str, Any]) -> str:
    return AzureCheck(**details, auth_token="").events_url
