"""The approval page a person sees when they open their link in a browser (pure HTML)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from bot.releases.policy import PENDING
from bot.store.clock import iso

# The page is framed by nobody, sends no Referer (the URL holds the token), is never
# cached, and loads nothing but its own inline style.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}"
    "th{text-align:left;padding-right:1rem}button{font-size:1rem;padding:.5rem 1.5rem;"
    "margin-right:1rem}.approve{background:#2da44e;color:#fff}.reject{background:#cf222e;"
    "color:#fff}"
)


def approval_page(view: Mapping[str, Any], notice: str | None = None) -> str:
    """`view` is `views.approval_json(...)`; buttons only while a decision can be made."""
    release = view["release"]
    approver = view["approver"]
    deployment = release.get("details") if release.get("source") == "github" else None
    named = (
        [
            ("Repository", deployment["repository"]),
            ("Environment", deployment["environment"]),
            ("Ref", deployment["ref"]),
            ("Deployed by", deployment.get("creator") or ""),
        ]
        if deployment
        else [
            ("Release", release["ReleaseName"]),
            ("Release id", release["ReleaseId"]),
            ("Team project", release["TeamProject"]),
        ]
    )
    rows = [
        *named,
        ("Status", release["status"]),
        ("Approvals", f"{release['approvals']} of {release['approvals_needed']}"),
        ("Approved by", ", ".join(release["approved_by"]) or "nobody yet"),
        ("You", approver["name"] or approver["email"] or ""),
        ("Your decision", approver["decision"] or "none yet"),
        ("Your comment", approver.get("comment") or ""),
        ("Your link expires", iso(approver["expires_at"]) or ""),
    ]
    table = "".join(
        f"<tr><th>{escape(label)}</th><td>{escape(str(value))}</td></tr>" for label, value in rows
    )
    if deployment:
        run = escape(deployment["run_url"])
        table += f"<tr><th>Workflow run</th><td><a href='{run}'>{run}</a></td></tr>"
    can_decide = release["status"] == PENDING and approver["decision"] is None
    form = (
        # No action: the form posts back to this very URL, token included.
        '<form method="post">'
        "<p><label>Comment (the reason; passed on to the pipeline)<br>"
        '<textarea name="comment" rows="3" cols="50" maxlength="900"></textarea></label></p>'
        '<button class="approve" name="decision" value="approve">Approve</button>'
        '<button class="reject" name="decision" value="reject">Reject</button>'
        "</form>"
        if can_decide
        else ""
    )
    banner = f"<p><strong>{escape(notice)}</strong></p>" if notice else ""
    title = escape(f"Release {release['ReleaseName']}")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{title}</title><style>{STYLE}</style></head><body>"
        f"<h1>{title}</h1>{banner}<table>{table}</table>{form}</body></html>"
    )


def error_page(detail: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Release approval</title><style>{STYLE}</style></head><body>"
        f"<h1>Release approval</h1><p>{escape(detail)}</p></body></html>"
    )
