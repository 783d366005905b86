"""What approvers receive: the email (text and HTML) and the Slack message (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from html import escape
from typing import Any

from bot.slack.messages import escape as escape_mrkdwn

Row = Mapping[str, Any]

APPROVE_ACTION = "release_approve"
REJECT_ACTION = "release_reject"
# The modal Reject opens to ask for a reason, and its one input.
REJECT_VIEW = "release_reject_reason"
REASON_BLOCK = "reason"
REASON_INPUT = "reason"
MAX_REASON = 900


def approver_label(approver: Row) -> str:
    return (
        approver.get("name")
        or approver.get("email")
        or approver.get("github_login")
        or approver.get("slack_id")
        or "?"
    )


RUN_LABEL = "Workflow run"


def github_deployment(release: Row) -> Mapping[str, Any] | None:
    """The details of a release a GitHub deployment protection rule asked about."""
    details = release.get("details")
    return details if release.get("source") == "github" and details else None


def release_title(release: Row) -> str:
    deployment = github_deployment(release)
    if deployment:
        return (
            f"Deployment of {deployment['ref']} to {deployment['environment']} "
            f"({deployment['repository']})"
        )
    return f"{release['release_name']} ({release['team_project']}, release {release['release_id']})"


def release_details(release: Row) -> list[tuple[str, str]]:
    """(label, value) rows naming the release; a deployment's repository, environment,
    ref and workflow run."""
    deployment = github_deployment(release)
    if deployment:
        rows = [
            ("Repository", deployment["repository"]),
            ("Environment", deployment["environment"]),
            ("Ref", deployment["ref"]),
            (RUN_LABEL, deployment["run_url"]),
        ]
        if deployment.get("creator"):
            rows.append(("Deployed by", deployment["creator"]))
        return rows
    return [
        ("Release", release["release_name"]),
        ("Release id", release["release_id"]),
        ("Team project", release["team_project"]),
    ]


def email_message(
    release: Row, approver: Row, link: str, sender: str, expires: str
) -> EmailMessage:
    """A plain-text mail with an HTML alternative, both carrying the approval link."""
    message = EmailMessage()
    message["Subject"] = f"Approval needed: {release_title(release)}"
    message["From"] = sender
    message["To"] = approver["email"]
    details = "\n".join(f"{label}: {value}" for label, value in release_details(release))
    message.set_content(
        f"Hello {approver_label(approver)},\n\n"
        f"A release waits for your approval before it goes to production.\n\n"
        f"{details}\n\n"
        f"Approve or reject it here (the link is yours alone; it expires {expires}):\n"
        f"{link}\n"
    )
    rows = "".join(
        f"<tr><th align='left'>{escape(label)}</th><td>{escape(value)}</td></tr>"
        for label, value in release_details(release)
    )
    message.add_alternative(
        "<!doctype html><html><body>"
        f"<p>Hello {escape(approver_label(approver))},</p>"
        "<p>A release waits for your approval before it goes to production.</p>"
        f"<table>{rows}</table>"
        f'<p><a href="{escape(link)}">Approve or reject the release</a></p>'
        f"<p>The link is yours alone; it expires {escape(expires)}.</p>"
        "</body></html>",
        subtype="html",
    )
    return message


def _field_text(release: Row, label: str, value: str) -> str:
    if label == RUN_LABEL:  # a link to the run, named by its number
        run = escape_mrkdwn(f"#{release['details']['run_id']}")
        return f"*{label}*\n<{escape_mrkdwn(value)}|{run}>"
    return f"*{label}*\n{escape_mrkdwn(value)}"


def _details_block(release: Row) -> dict:
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": _field_text(release, label, value)}
            for label, value in release_details(release)
        ],
    }


def slack_request(release: Row, approver_id: int, link: str) -> tuple[str, list[dict]]:
    """The DM asking for a decision: fallback text and Block Kit blocks with two buttons."""
    # The fallback text is mrkdwn too (notifications show it): escaped like the blocks.
    text = f"Approval needed: {escape_mrkdwn(release_title(release))}"
    value = str(approver_id)
    blocks = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f":rocket: *{text}*"},
        },
        _details_block(release),
        {
            "type": "actions",
            "block_id": f"release_approver_{approver_id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": APPROVE_ACTION,
                    "text": {"type": "plain_text", "text": "Approve"},
                    "style": "primary",
                    "value": value,
                },
                {
                    "type": "button",
                    "action_id": REJECT_ACTION,
                    "text": {"type": "plain_text", "text": "Reject"},
                    "style": "danger",
                    "value": value,
                },
            ],
        },
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"Or decide on the web: <{link}|approval page>"}
            ],
        },
    ]
    return text, blocks


def slack_outcome(release: Row, approver: Row, status: str) -> tuple[str, list[dict]]:
    """The DM once decided: no buttons left, the decision and the release's status."""
    decision = approver["decision"]
    if decision:
        line = f"You {decision} this release ({escape_mrkdwn(str(approver['channel']))})."
    else:
        line = "You did not decide on this release."
    text = f"{escape_mrkdwn(release_title(release))}: {status}"
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}},
        _details_block(release),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{line} Status: *{status}*"}]},
    ]
    return text, blocks


def reject_modal(release: Row, approver_id: int) -> dict[str, Any]:
    """The modal asking why, before a rejection is recorded (`private_metadata`: who)."""
    return {
        "type": "modal",
        "callback_id": REJECT_VIEW,
        "private_metadata": str(approver_id),
        "title": {"type": "plain_text", "text": "Reject the release"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{escape_mrkdwn(release_title(release))}*"},
            },
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": {"type": "plain_text", "text": "Why do you reject it?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_INPUT,
                    "multiline": True,
                    "max_length": MAX_REASON,
                },
            },
        ],
    }
