"""Settings: defaults, .env, and one clear line for each malformed value."""

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]


def load(tmp_path: Path, **env: str):
    return load_settings(env, env_file=tmp_path / "none.env")


def test_defaults_follow_the_contract(tmp_path) -> None:
    s = load(tmp_path)
    assert s.database_url == "sqlite:///reviewer.db"
    assert s.port == 8000
    assert s.github_api_url == "https://api.github.com"
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.public_url == "http://localhost:8000"
    assert (s.pull_request_sync_minutes, s.review_sync_minutes) == (90, 15)
    assert (s.reminder_cron, s.timezone, s.scheduler) == ("30 15 * * *", "UTC", True)
    assert s.release_token_ttl_hours == 72
    assert s.release_min_approvals is None
    assert s.api_tokens == ()
    assert not s.github_app_configured and not s.slack_configured


def test_public_url_follows_port(tmp_path) -> None:
    assert load(tmp_path, PORT="9001").public_url == "http://localhost:9001"


def test_postgres_scheme_is_accepted(tmp_path) -> None:
    s = load(tmp_path, DATABASE_URL="postgres://u:p@db.example:5432/app")
    assert s.database_url == "postgresql://u:p@db.example:5432/app"
    assert s.is_postgres


def test_lists_keys_and_switches(tmp_path) -> None:
    key_file = tmp_path / "app.pem"
    key_file.write_text("-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n")
    s = load(
        tmp_path,
        API_TOKENS=" one, two ,,",
        SCHEDULER="off",
        GITHUB_APP_ID="42",
        GITHUB_PRIVATE_KEY_PATH=str(key_file),
        LOG_LEVEL="debug",
    )
    assert s.api_tokens == ("one", "two")
    assert s.scheduler is False
    assert s.github_app_configured
    assert s.github_private_key.startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert s.log_level == "DEBUG"
    inline = load(tmp_path, GITHUB_PRIVATE_KEY="-----BEGIN PRIVATE KEY-----\\nabc\\n-----END")
    assert inline.github_private_key == "-----BEGIN PRIVATE KEY-----\nabc\n-----END"


def test_env_file_is_read_and_the_environment_wins(tmp_path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=9000\nSLACK_CHANNEL=#team\n")
    s = load_settings({"PORT": "9100"}, env_file=env_file)
    assert s.port == 9100
    assert s.slack_channel == "#team"


def test_secrets_stay_out_of_the_repr(tmp_path) -> None:
    s = load(
        tmp_path,
        API_TOKENS="sekrit-token",
        GITHUB_WEBHOOK_SECRET="hook-sekrit",
        DATABASE_URL="postgres://app:db-sekrit@db.example/app",
    )
    assert "sekrit" not in repr(s)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://localhost/x"),
        ("DATABASE_URL", "sqlite:/relative"),
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("GITHUB_APP_ID", "abc"),
        ("GITHUB_PRIVATE_KEY", "not a key"),
        ("GITHUB_PRIVATE_KEY_PATH", "/nonexistent/key.pem"),
        ("GITHUB_API_URL", "api.github.com"),
        ("SLACK_API_URL", "ftp://slack"),
        ("PUBLIC_URL", "reviewer.example.com"),
        ("APPROVERS_URL", "nope"),
        ("PULL_REQUEST_SYNC_MINUTES", "0"),
        ("REVIEW_SYNC_MINUTES", "-5"),
        ("REMINDER_CRON", "every day"),
        ("REMINDER_CRON", "61 15 * * *"),
        ("TIMEZONE", "Mars/Olympus"),
        ("SCHEDULER", "sometimes"),
        ("SMTP_URL", "http://mail"),
        ("RELEASE_MIN_APPROVALS", "zero"),
        ("RELEASE_TOKEN_TTL_HOURS", "0"),
        ("LOG_LEVEL", "LOUD"),
        # Each of these once got through and stopped start-up with a traceback instead.
        ("PUBLIC_URL", "http://[::1"),
        ("GITHUB_API_URL", "http://[github"),
        ("SENTRY_DSN", "not-a-dsn"),
        ("PULL_REQUEST_SYNC_MINUTES", "99999999999999999"),
        ("REVIEW_SYNC_MINUTES", "99999999999999999"),
        ("RELEASE_TOKEN_TTL_HOURS", "99999999999999999999"),
        ("GITHUB_APP_ID", "\u00b2"),
    ],
)
def test_malformed_values_name_the_setting(tmp_path, name, value) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, **{name: value})
    assert caught.value.setting == name
    assert str(caught.value).startswith(f"{name}: ")
    assert "\n" not in str(caught.value)


def test_the_cli_stops_with_one_line_naming_the_setting(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "PORT": "eighty"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "reviewer: bad setting PORT: expected a whole number, got 'eighty'"
    ]
    assert "Traceback" not in result.stderr
