"""Notifying an approver once: a fresh token, then email and Slack, recorded on the row."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
import aiosmtplib
from slack_sdk.errors import SlackApiError, SlackClientError
from starlette.datastructures import State

from bot.releases import messages, slack_dm
from bot.releases.mail import send_mail, sender
from bot.releases.policy import token_ttl
from bot.releases.tokens import approval_url, new_token, token_hash
from bot.store import releases as store

log = logging.getLogger(__name__)

SENT, UNAVAILABLE, REFUSED, FAILED = "sent", "unavailable", "refused", "failed"


@dataclass(frozen=True)
class Delivery:
    """How one channel went: sent; unavailable (not configured, no address); refused
    (will not work on retry); failed (may work on retry)."""

    channel: str
    state: str
    reason: str = ""


@dataclass
class Outcome:
    approver_id: int
    deliveries: list[Delivery] = field(default_factory=list)
    slack_id: str | None = None
    slack_channel: str | None = None
    slack_ts: str | None = None

    @property
    def delivered(self) -> bool:
        return any(d.state == SENT for d in self.deliveries)

    @property
    def retry(self) -> bool:
        """Nothing reached the approver but something might next time."""
        return not self.delivered and any(d.state == FAILED for d in self.deliveries)

    @property
    def error(self) -> str | None:
        """What went wrong, for the audit; unavailable channels only if nothing got through."""
        shown = [d for d in self.deliveries if d.state in (REFUSED, FAILED)]
        if not self.delivered:
            shown = [d for d in self.deliveries if d.state != SENT]
        return "; ".join(f"{d.channel}: {d.reason}" for d in shown) or None


def expiry_text(expires_at: datetime) -> str:
    return expires_at.strftime("%Y-%m-%d %H:%M UTC")


async def _email(state: State, release: dict, approver: dict, link: str) -> Delivery:
    settings = state.settings
    if not settings.smtp_url:
        return Delivery("email", UNAVAILABLE, "SMTP_URL is not set")
    if not approver["email"]:
        return Delivery("email", UNAVAILABLE, "no email address")
    try:
        message = messages.email_message(
            release, approver, link, sender(settings), expiry_text(approver["expires_at"])
        )
        await send_mail(settings, message)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        return Delivery("email", REFUSED, f"the server refused the address ({exc})")
    except (aiosmtplib.SMTPException, OSError) as exc:
        return Delivery("email", FAILED, f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        # A bug must not leave the approver claimed and silent: log it, try again later.
        log.exception("sending an approval mail failed")
        return Delivery("email", FAILED, f"{type(exc).__name__}: {exc}")
    return Delivery("email", SENT)


async def _slack(
    state: State, release: dict, approver: dict, link: str, outcome: Outcome
) -> Delivery:
    client = getattr(state, "slack", None)
    if client is None:
        return Delivery("slack", UNAVAILABLE, "Slack is not configured")
    try:
        slack_user = await slack_dm.find_slack_user(state.db, client, approver)
        if slack_user is None:
            return Delivery("slack", UNAVAILABLE, "not found on Slack")
        outcome.slack_id = slack_user
        text, blocks = messages.slack_request(release, approver["id"], link)
        outcome.slack_channel, outcome.slack_ts = await slack_dm.post_dm(
            client, slack_user, text, blocks
        )
    except SlackApiError as exc:
        error = slack_dm.slack_error(exc)
        state_ = REFUSED if error in slack_dm.PERMANENT_ERRORS else FAILED
        return Delivery("slack", state_, error)
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        return Delivery("slack", FAILED, f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        log.exception("sending an approval DM failed")
        return Delivery("slack", FAILED, f"{type(exc).__name__}: {exc}")
    return Delivery("slack", SENT)


async def notify_approver(
    state: State, release: dict[str, Any], approver_id: int, now: datetime
) -> Outcome | None:
    """Send this approver their link, unless another worker has them; None then.

    The token is made here, at the claim, so the raw token lives only in this call
    and in what it sends. A send that reaches nobody but may work later hands the
    approver back (a later try makes a new token); anything sent is never sent again.
    """
    ttl = token_ttl(state.settings)
    token = new_token()
    approver = await store.claim_notification(
        state.db, approver_id, token_hash(token), now, now + ttl
    )
    if approver is None:
        return None
    link = approval_url(state.settings.public_url, token)
    outcome = Outcome(approver_id)
    outcome.deliveries.append(await _email(state, release, approver, link))
    outcome.deliveries.append(await _slack(state, release, approver, link, outcome))
    await store.finish_notification(
        state.db,
        approver_id,
        retry=outcome.retry,
        error=outcome.error,
        slack_id=outcome.slack_id,
        slack_channel=outcome.slack_channel,
        slack_ts=outcome.slack_ts,
    )
    log.info(
        "approver notified" if outcome.delivered else "approver not notified",
        extra={
            "release": release["id"],
            "approver": approver_id,
            "deliveries": {d.channel: d.state for d in outcome.deliveries},
            "retry": outcome.retry,
        },
    )
    return outcome
