"""The way in from GitHub is one-directional: payload -> shapes -> store.

Read from the source, so a new import that turns the way back fails here, named.
"""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).parent.parent / "bot"


def imports(path: Path) -> set[str]:
    """The modules a file imports, at any depth (`from a.b import c` gives `a.b.c`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_store_takes_shapes_and_knows_nothing_else_of_github() -> None:
    reaching_up = {
        f"{path.name}: {name}"
        for path in sorted((BOT / "store").glob("*.py"))
        for name in imports(path)
        if name.startswith("bot.github") and not name.startswith("bot.github.shapes.")
    }
    assert reaching_up == set()


def test_shapes_and_their_readers_are_pure() -> None:
    # Pure standard modules only (re and urllib.parse read deployment callback URLs).
    allowed = (
        "__future__",
        "collections",
        "dataclasses",
        "datetime",
        "re.",
        "typing",
        "urllib.parse.",
        "bot.github.",
    )
    for name in ("shapes.py", "parse.py"):
        found = imports(BOT / "github" / name)
        assert {m for m in found if not m.startswith(allowed)} == set(), name
        assert {m for m in found if m.startswith("bot.") and "shapes" not in m} == set(), name
