"""The OpenAPI 3.1 description of every route, served at /docs.json and /docs.yaml."""

from __future__ import annotations

from typing import Any

from bot import __version__
from bot.api.params import MAX_ID

JSON = "application/json"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def array_of(name: str) -> dict[str, Any]:
    return {"type": "array", "items": ref(name)}


def body(schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"description": description or "OK", "content": {JSON: {"schema": schema}}}


def error(description: str) -> dict[str, Any]:
    return body(ref("Error"), description)


NO_CONTENT = {"description": "Done; no body."}
NOT_FOUND = error("No such resource.")
BAD_REQUEST = error("Malformed or incomplete body or query; `errors` names each field.")
UNAUTHORIZED = error("No bearer token.")
FORBIDDEN = error("A bearer token that is not in API_TOKENS.")
TOO_LARGE = error("The body is over 1 MB.")
TOKEN = [{"bearer": []}]
PAGED = {
    "Link": {
        "description": "GitHub-style pages: first, prev, next, last.",
        "schema": {"type": "string"},
    },
    "X-Total-Count": {"description": "Items in all pages.", "schema": {"type": "integer"}},
}


def param(name: str, where: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "schema": schema,
        "description": description,
    }


ID = param("id", "path", {"type": "integer", "minimum": 1}, "The resource's id.")
DETAILS = param("details", "query", {"type": "boolean"}, "Add the details lists.")
PAGING = [
    param(
        "page",
        "query",
        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        "Page number, from 1.",
    ),
    param(
        "per_page",
        "query",
        {"type": "integer", "minimum": 1, "maximum": 1000},
        "Items per page (default 100).",
    ),
]
TOKEN_QUERY = param("token", "query", {"type": "string"}, "The approver's personal token.")
TOKEN_QUERY["required"] = True
DECISION_PARAMS = [
    param(
        "decision",
        "query",
        {"type": "string", "enum": ["approve", "reject"]},
        "approve (the default) or reject; may come in the body instead, not differently.",
    ),
    param(
        "comment",
        "query",
        {"type": "string", "maxLength": 900},
        "The reason, shown in the audit and passed on to the CD system.",
    ),
]
AZURE_HEADERS = [
    param(
        name,
        "header",
        {"type": "string"},
        "Azure DevOps check in callback mode (all seven, or none): " + meaning,
    )
    for name, meaning in (
        ("PlanUrl", "$(system.CollectionUri)"),
        ("ProjectId", "$(system.TeamProjectId)"),
        ("HubName", "$(system.HostType)"),
        ("PlanId", "$(system.PlanId)"),
        ("JobId", "$(system.JobId)"),
        ("TaskInstanceId", "$(system.TaskInstanceId)"),
        ("AuthToken", "$(system.AccessToken); kept only until the decision is delivered"),
    )
]

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["detail"],
        "properties": {
            "detail": {"type": "string"},
            "errors": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "Project": {
        "type": "object",
        "required": ["id", "name", "repo_owner", "repo_name"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "repo_owner": {"type": "string"},
            "repo_name": {"type": "string"},
            "github_id": {"type": ["integer", "null"]},
            "installation_id": {"type": ["integer", "null"]},
            "installed": {
                "type": ["boolean", "null"],
                "description": "Whether the App is installed on the repository; null until known.",
            },
            "active": {"type": "boolean", "description": "False once no longer synced."},
            "synced_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "NewProject": {
        "type": "object",
        "required": ["name", "repo_owner", "repo_name"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "example": "The Docker CLI"},
            "repo_owner": {"type": "string", "example": "docker"},
            "repo_name": {"type": "string", "example": "cli"},
        },
    },
    "User": {
        "type": "object",
        "required": ["id", "username", "github_id", "metadata"],
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "github_id": {"type": "integer"},
            "metadata": {"type": "object", "example": {"slack_id": "UG12345"}},
        },
    },
    "UserDetails": {
        "allOf": [
            ref("User"),
            {
                "type": "object",
                "required": [
                    "approved_pull_requests",
                    "commented_pull_requests",
                    "idled_pull_requests",
                ],
                "properties": {
                    "approved_pull_requests": array_of("PullRequest"),
                    "commented_pull_requests": array_of("PullRequest"),
                    "idled_pull_requests": array_of("PullRequest"),
                },
            },
        ]
    },
    "UserPatch": {
        "type": "object",
        "required": ["metadata"],
        "additionalProperties": False,
        "properties": {
            "metadata": {
                "type": "object",
                "description": "Merged into the stored metadata; a key set to null is removed.",
            }
        },
    },
    "PullRequest": {
        "type": "object",
        "required": [
            "id",
            "user_id",
            "project_id",
            "title",
            "url",
            "number",
            "github_id",
            "created_at",
            "updated_at",
        ],
        "properties": {
            "id": {"type": "integer"},
            "user_id": {"type": ["integer", "null"]},
            "project_id": {"type": "integer"},
            "title": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "number": {"type": "integer"},
            "github_id": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "state": {"type": "string", "enum": ["open", "closed"]},
            "draft": {"type": "boolean"},
            "merged": {"type": "boolean"},
            "labels": {"type": "array", "items": {"type": "string"}},
            "closed_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "PullRequestDetails": {
        "allOf": [
            ref("PullRequest"),
            {
                "type": "object",
                "required": ["author", "approvers", "commenters", "idlers"],
                "properties": {
                    "author": {"type": ["string", "null"]},
                    "approvers": {"type": "array", "items": {"type": "string"}},
                    "commenters": {"type": "array", "items": {"type": "string"}},
                    "idlers": {"type": "array", "items": {"type": "string"}},
                },
            },
        ]
    },
    "NewRelease": {
        "type": "object",
        "required": ["ReleaseName", "ReleaseId", "TeamProject"],
        "properties": {
            "ReleaseName": {"type": "string", "example": "Desafio-CD"},
            "ReleaseId": {"type": "string", "example": "386"},
            "TeamProject": {"type": "string", "example": "Devx"},
        },
    },
    "ReleaseStatus": {
        "type": "object",
        "description": "What a pipeline polls.",
        "required": [
            "id",
            "ReleaseName",
            "ReleaseId",
            "TeamProject",
            "status",
            "approvals",
            "approvals_needed",
            "approved_by",
            "rejected_by",
            "approvers_error",
            "created_at",
            "decided_at",
        ],
        "properties": {
            "id": {"type": "integer"},
            "ReleaseName": {"type": "string"},
            "ReleaseId": {"type": "string"},
            "TeamProject": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "approved", "rejected", "expired"]},
            "approvals": {"type": "integer"},
            "approvals_needed": {
                "type": ["integer", "null"],
                "description": "null until the approvers are fetched.",
            },
            "approved_by": {"type": "array", "items": {"type": "string"}},
            "rejected_by": {"type": "array", "items": {"type": "string"}},
            "approvers_error": {
                "type": ["string", "null"],
                "description": "Why the approvers could not be fetched yet (retried).",
            },
            "created_at": {"type": "string", "format": "date-time"},
            "decided_at": {"type": ["string", "null"], "format": "date-time"},
            "source": {
                "type": "string",
                "enum": ["api", "github", "azure"],
                "description": "POST /release, a GitHub deployment protection rule, or "
                "POST /release from an Azure DevOps check in callback mode.",
            },
            "details": {
                "type": ["object", "null"],
                "description": "What the CD system said: a deployment's repository, "
                "environment, ref, run_url, creator; an Azure check's plan and task ids.",
            },
        },
    },
    "Callback": {
        "type": "object",
        "description": "A message to the release's CD system and how its delivery went.",
        "required": ["final", "body", "state", "attempts", "error", "delivered_at"],
        "properties": {
            "final": {"type": "boolean", "description": "The decision (else a status report)."},
            "body": {"type": "object"},
            "state": {"enum": ["pending", "delivered", "refused", "dropped"]},
            "attempts": {"type": "integer"},
            "error": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "next_attempt_at": {"type": ["string", "null"], "format": "date-time"},
            "delivered_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "Approver": {
        "type": "object",
        "required": ["id", "decision", "channel", "decided_at", "notified_at", "expires_at"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]},
            "slack_id": {"type": ["string", "null"]},
            "github_login": {"type": ["string", "null"]},
            "decision": {"enum": ["approved", "rejected", None]},
            "channel": {"enum": ["link", "form", "slack", None]},
            "decided_at": {"type": ["string", "null"], "format": "date-time"},
            "comment": {"type": ["string", "null"]},
            "notified_at": {"type": ["string", "null"], "format": "date-time"},
            "notify_error": {"type": ["string", "null"]},
            "expires_at": {"type": "string", "format": "date-time"},
        },
    },
    "Release": {
        "description": "A release with each approver's decision, channel and time.",
        "allOf": [
            ref("ReleaseStatus"),
            {
                "type": "object",
                "required": ["approvers_fetched_at", "attempts", "approvers", "callback"],
                "properties": {
                    "approvers_fetched_at": {"type": ["string", "null"], "format": "date-time"},
                    "attempts": {"type": "integer"},
                    "approvers": array_of("Approver"),
                    "callback": {
                        "enum": ["waiting", "pending", "delivered", "refused", None],
                        "description": "Where the decision's callback to the CD system "
                        "stands; null when no CD system waits on it.",
                    },
                    "callbacks": array_of("Callback"),
                },
            },
        ],
    },
    "Approval": {
        "type": "object",
        "description": "What the holder of an approval token sees.",
        "required": ["release", "approver", "status"],
        "properties": {
            "release": ref("ReleaseStatus"),
            "approver": {
                "type": "object",
                "required": ["name", "email", "decision", "channel", "decided_at", "expires_at"],
                "properties": {
                    "name": {"type": ["string", "null"]},
                    "email": {"type": ["string", "null"]},
                    "decision": {"enum": ["approved", "rejected", None]},
                    "channel": {"enum": ["link", "form", "slack", None]},
                    "decided_at": {"type": ["string", "null"], "format": "date-time"},
                    "comment": {"type": ["string", "null"]},
                    "expires_at": {"type": "string", "format": "date-time"},
                },
            },
            "status": {"type": "string", "enum": ["pending", "approved", "rejected", "expired"]},
        },
    },
    "Decision": {
        "type": "object",
        "properties": {
            "decision": {"type": "string", "enum": ["approve", "reject"], "default": "approve"},
            "comment": {"type": "string", "maxLength": 900},
        },
    },
    "Status": {"type": "object", "properties": {"status": {"type": "string"}}},
    "Delivery": {
        "type": "object",
        "required": ["detail", "delivery"],
        "properties": {
            "detail": {"type": "string", "enum": ["applied", "ignored", "duplicate", "pong"]},
            "delivery": {"type": "string", "description": "The X-GitHub-Delivery GUID."},
        },
    },
}


def operation(
    summary: str,
    responses: dict[str, Any],
    *,
    parameters: list[dict[str, Any]] | None = None,
    request: dict[str, Any] | None = None,
    secured: bool = False,
    tag: str,
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if parameters:
        op["parameters"] = parameters
    if request is not None:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": request}}}
    if secured:
        op["security"] = TOKEN
        op["responses"] = {**responses, "401": UNAUTHORIZED, "403": FORBIDDEN}
    return op


def paged(schema: str, description: str) -> dict[str, Any]:
    return {**body(array_of(schema), description), "headers": PAGED}


PATHS: dict[str, Any] = {
    "/v1/projects": {
        "get": operation(
            "List projects",
            {"200": paged("Project", "Projects, by id."), "400": BAD_REQUEST},
            parameters=PAGING,
            tag="projects",
        ),
        "post": operation(
            "Create a project",
            {
                "201": body(ref("Project"), "Created."),
                "400": BAD_REQUEST,
                "409": error("The repository is already a project."),
                "413": TOO_LARGE,
            },
            request=ref("NewProject"),
            secured=True,
            tag="projects",
        ),
    },
    "/v1/projects/{id}": {
        "get": operation(
            "Get a project",
            {"200": body(ref("Project")), "404": NOT_FOUND},
            parameters=[ID],
            tag="projects",
        ),
        "delete": operation(
            "Delete a project with its pull requests, reviews and review requests",
            {"204": NO_CONTENT, "404": NOT_FOUND},
            parameters=[ID],
            secured=True,
            tag="projects",
        ),
    },
    "/v1/users": {
        "get": operation(
            "List users",
            {"200": paged("User", "Users, by id."), "400": BAD_REQUEST},
            parameters=PAGING,
            tag="users",
        )
    },
    "/v1/users/{id}": {
        "get": operation(
            "Get a user, with details on request",
            {
                "200": body({"anyOf": [ref("User"), ref("UserDetails")]}),
                "400": BAD_REQUEST,
                "404": NOT_FOUND,
            },
            parameters=[ID, DETAILS],
            tag="users",
        ),
        "patch": operation(
            "Merge metadata into a user's",
            {"204": NO_CONTENT, "400": BAD_REQUEST, "404": NOT_FOUND, "413": TOO_LARGE},
            parameters=[ID],
            request=ref("UserPatch"),
            secured=True,
            tag="users",
        ),
        "delete": operation(
            "Delete a user",
            {"204": NO_CONTENT, "404": NOT_FOUND},
            parameters=[ID],
            secured=True,
            tag="users",
        ),
    },
    "/v1/pull_requests": {
        "get": operation(
            "List pull requests",
            {"200": paged("PullRequest", "Pull requests, by id."), "400": BAD_REQUEST},
            parameters=[
                *PAGING,
                param(
                    "state",
                    "query",
                    {"type": "string", "enum": ["open", "closed", "all"], "default": "open"},
                    "Which pull requests.",
                ),
                param("project_id", "query", {"type": "integer"}, "Only this project's."),
                param("user_id", "query", {"type": "integer"}, "Only this author's."),
            ],
            tag="pull requests",
        )
    },
    "/v1/pull_requests/{id}": {
        "get": operation(
            "Get a pull request, with details on request",
            {
                "200": body({"anyOf": [ref("PullRequest"), ref("PullRequestDetails")]}),
                "400": BAD_REQUEST,
                "404": NOT_FOUND,
            },
            parameters=[ID, DETAILS],
            tag="pull requests",
        )
    },
    "/github/webhooks": {
        "post": operation(
            "Receive a GitHub App webhook delivery (signed with X-Hub-Signature-256)",
            {
                "200": body(ref("Delivery"), "Applied, a ping, or a repeated delivery."),
                "202": body(ref("Delivery"), "Stored; an event Reviewer does not act on."),
                "400": error("Missing or overlong headers, or a body that is not a JSON object."),
                "401": error("Missing or wrong signature."),
                "413": error("Body over 25 MB."),
                "422": error("A payload without the fields its event must carry."),
                "500": error("Not applied (recorded as failed); GitHub's redelivery applies it."),
                "503": error("No GITHUB_WEBHOOK_SECRET configured, or the database is down."),
            },
            request={"type": "object"},
            tag="github",
        )
    },
    "/slack/events": {
        "post": operation(
            "Slack events, interactivity and commands (Bolt; Slack-signed)",
            {
                "200": body(
                    {"type": "object"}, "Acknowledged: Bolt's answer, as Slack expects it."
                ),
                "401": body(
                    {"type": "object", "properties": {"error": {"type": "string"}}},
                    "Bad or stale Slack signature (Bolt's own body).",
                ),
                "413": error("Body over 1 MB."),
                "503": error("Slack is not configured."),
            },
            request={"type": "object"},
            tag="slack",
        )
    },
    "/release": {
        "post": operation(
            "Ask whether a release may go to production (create it on first call)",
            {
                "200": body(ref("ReleaseStatus"), "Known release: its status."),
                "202": {
                    **body(ref("ReleaseStatus"), "New release: stored; approvers notified after."),
                    "headers": {"Location": {"schema": {"type": "string"}}},
                },
                "400": BAD_REQUEST,
                "413": TOO_LARGE,
            },
            request=ref("NewRelease"),
            parameters=AZURE_HEADERS,
            secured=True,
            tag="releases",
        )
    },
    "/approval": {
        "get": operation(
            "The release, the approver and the status; changes nothing",
            {
                "200": {
                    "description": "JSON, or a page with Approve/Reject buttons for browsers.",
                    "content": {
                        JSON: {"schema": ref("Approval")},
                        "text/html": {"schema": {"type": "string"}},
                    },
                },
                "401": error("No token."),
                "404": error("Unknown token."),
                "410": error("Expired token."),
            },
            parameters=[TOKEN_QUERY],
            tag="releases",
        ),
        "post": {
            **operation(
                "Record this approver's decision (idempotent)",
                {
                    "200": {
                        "description": "Recorded (or recorded before, the same way).",
                        "content": {
                            JSON: {"schema": ref("Approval")},
                            "text/html": {"schema": {"type": "string"}},
                        },
                    },
                    "400": BAD_REQUEST,
                    "401": error("No token."),
                    "404": error("Unknown token."),
                    "403": error("The deployment's creator, on their own deployment."),
                    "409": error("The release is decided, or this approver decided otherwise."),
                    "410": error("Expired token."),
                    "413": error("Body over 10 kB."),
                    "415": error("Neither JSON nor a form."),
                },
                parameters=[TOKEN_QUERY, *DECISION_PARAMS],
                tag="releases",
            ),
            "requestBody": {
                "required": False,
                "content": {
                    JSON: {"schema": ref("Decision")},
                    "application/x-www-form-urlencoded": {"schema": ref("Decision")},
                },
            },
        },
    },
    "/v1/releases": {
        "get": operation(
            "List releases with every approver's decision",
            {"200": paged("Release", "Releases, newest first."), "400": BAD_REQUEST},
            parameters=PAGING,
            tag="releases",
        )
    },
    "/v1/releases/{id}": {
        "get": operation(
            "Get a release with every approver's decision",
            {"200": body(ref("Release")), "404": NOT_FOUND},
            parameters=[ID],
            tag="releases",
        )
    },
    "/setup": {
        "get": operation(
            "Create the GitHub App from app.yml (only while none is configured)",
            {
                "200": {"description": "A page that posts the manifest to GitHub."},
                "400": error("`org` is not a GitHub organisation name."),
                "404": error("An App is configured already."),
            },
            parameters=[
                param("org", "query", {"type": "string"}, "Create the App for this organisation.")
            ],
            tag="install",
        )
    },
    "/setup/callback": {
        "get": operation(
            "GitHub's redirect after the App was created: store its credentials",
            {
                "200": {"description": "A page linking to the App's installation."},
                "400": error("A missing or malformed code or state, or one GitHub refused."),
                "403": error("A state this service did not hand out (or handed out before)."),
                "404": error("An App is configured already."),
                "502": error("GitHub did not answer, or answered without the App."),
            },
            parameters=[
                param("code", "query", {"type": "string"}, "GitHub's one-time code."),
                param("state", "query", {"type": "string"}, "The value /setup sent."),
            ],
            tag="install",
        )
    },
    "/setup/installed": {
        "get": operation(
            "Where GitHub sends you after installing the App (app.yml's setup_url)",
            {"200": {"description": "A page saying what happens next."}},
            tag="install",
        )
    },
    "/healthz": {
        "get": operation(
            "Liveness: 200 while the process runs", {"200": body(ref("Status"))}, tag="ops"
        )
    },
    "/readyz": {
        "get": operation(
            "Readiness: 200 when the database answers",
            {"200": body(ref("Status")), "503": body(ref("Status"), "The database is down.")},
            tag="ops",
        )
    },
    "/docs": {
        "get": operation("This description as a page", {"200": {"description": "HTML."}}, tag="ops")
    },
    "/docs.json": {
        "get": operation("This description as JSON", {"200": body({"type": "object"})}, tag="ops")
    },
    "/docs.yaml": {
        "get": operation("This description as YAML", {"200": {"description": "YAML."}}, tag="ops")
    },
}


def openapi_spec(public_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Reviewer",
            "version": __version__,
            "description": "Keeps pull-request reviews moving and gates releases on approval.",
        },
        "servers": [{"url": public_url}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from API_TOKENS.",
                }
            },
        },
    }
