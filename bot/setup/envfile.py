"""Adding settings to a `.env` file without touching the values already there."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

SECRET_FILE_MODE = 0o600


def env_line(key: str, value: str) -> str:
    """`KEY="value"` on one line; newlines become `\\n`, as python-dotenv reads them back."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n")
    return f'{key}="{escaped}"\n'


def add_missing(path: Path, values: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Append the settings `path` does not hold yet; return (written, kept) names.

    A value already in the file wins: it may be one the user set on purpose. The
    file ends up readable by its owner only, since it now holds secrets.
    """
    existing = dotenv_values(path) if path.is_file() else {}
    written = [key for key in values if existing.get(key) in (None, "")]
    kept = [key for key in values if key not in written]
    # Created with 0600 from the start, so the secrets are never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, SECRET_FILE_MODE)
    with os.fdopen(fd, "a") as out:
        os.fchmod(out.fileno(), SECRET_FILE_MODE)
        if written and path.stat().st_size and not path.read_bytes().endswith(b"\n"):
            out.write("\n")
        for key in written:
            out.write(env_line(key, values[key]))
    return written, kept
