"""Sending mail to SMTP_URL (`smtp://user:pass@host:port` or `smtps://…`) with aiosmtplib."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from bot.settings import Settings

TIMEOUT = 30  # seconds for each SMTP step


@dataclass(frozen=True)
class SmtpServer:
    hostname: str
    port: int
    use_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def smtp_server(url: str) -> SmtpServer:
    """Where and how to send: smtps:// is TLS from the start (port 465 by default);
    smtp:// (port 25 or as given) upgrades with STARTTLS when the server offers it."""
    parts = urlsplit(url)
    use_tls = parts.scheme == "smtps"
    return SmtpServer(
        hostname=parts.hostname or "localhost",
        port=parts.port or (465 if use_tls else 25),
        use_tls=use_tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def sender(settings: Settings) -> str:
    """SMTP_FROM, or an address at PUBLIC_URL's host."""
    if settings.smtp_from:
        return settings.smtp_from
    host = urlsplit(settings.public_url).hostname or "localhost"
    return f"Reviewer <reviewer@{host}>"


async def send_mail(settings: Settings, message: EmailMessage) -> None:
    """Raises aiosmtplib.SMTPException (or OSError) when the mail was not accepted."""
    assert settings.smtp_url is not None
    server = smtp_server(settings.smtp_url)
    await aiosmtplib.send(
        message,
        hostname=server.hostname,
        port=server.port,
        username=server.username,
        password=server.password,
        use_tls=server.use_tls,
        timeout=TIMEOUT,
    )
