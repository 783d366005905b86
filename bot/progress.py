"""Progress of long command-line work: a line per item, and a bar when a person watches."""

from __future__ import annotations

import sys
from typing import TextIO

BAR_WIDTH = 24


class Progress:
    """Reports work item by item; on a terminal a bar under the lines shows how far it is.

    Piped or captured output gets only the lines, so logs and tests read the same text.
    """

    def __init__(self, stream: TextIO | None = None, indent: str = "  ") -> None:
        self.stream = stream or sys.stdout
        self.indent = indent
        self.bar = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total = 0
        self.done = 0

    def begin(self, total: int) -> None:
        """`total` items are coming."""
        self.total, self.done = total, 0
        self._draw()

    def step(self, line: str) -> None:
        """One item is done; `line` says how it went."""
        self.done += 1
        self._clear()
        print(f"{self.indent}{line}", file=self.stream, flush=True)
        self._draw()

    def end(self) -> None:
        """The work is over: the bar gives its place back to the report."""
        self._clear()

    def _draw(self) -> None:
        if not self.bar or not self.total:
            return
        filled = BAR_WIDTH * min(self.done, self.total) // self.total
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stream.write(f"\r{self.indent}[{bar}] {self.done}/{self.total}")
        self.stream.flush()

    def _clear(self) -> None:
        if self.bar and self.total:
            self.stream.write("\r\x1b[2K")
