"""Files that live beside the code: inside the package once installed, at the top in a checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """`migrations` or `app.yml`: the copy a wheel carries in `bot/`, else the checkout's."""
    inside = PACKAGE / name
    return inside if inside.exists() else PACKAGE.parent / name
