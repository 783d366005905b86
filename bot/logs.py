"""Logging: JSON lines for machines, short text lines for a person at a terminal.

The delivery id or job name is carried in a context variable and added to every line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from pydantic_core import PydanticSerializationError, to_json

# Set around a webhook delivery or a job run; every line logged inside carries it.
log_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "log_context", default=None
)

# Attributes every LogRecord has; anything else was passed through `extra=`
# (uvicorn's `color_message` repeats the message with terminal colours).
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


# Made once: `json.dumps(..., default=str)` builds an encoder at every call.
_encode = json.JSONEncoder(default=str).encode


def _line(entry: dict[str, Any]) -> str:
    """`entry` as one line of JSON, in ASCII whatever the stream's encoding.

    pydantic's serializer takes a third of the time of `json`'s encoder, a line's
    largest single cost. Text beyond ASCII is escaped after (it is only ever inside
    strings); `json` writes what pydantic cannot (bytes that are not UTF-8).
    """
    try:
        line = to_json(entry, fallback=str).decode()
    except PydanticSerializationError:
        return _encode(entry)
    return line if line.isascii() else _BEYOND_ASCII.sub(_escaped, line)


_BEYOND_ASCII = re.compile(r"[^\x00-\x7f]")


def _escaped(match: re.Match[str]) -> str:
    return encode_basestring_ascii(match.group())[1:-1]  # "\u00e9", a surrogate pair


class JSONFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, then any extras.

    A line is written for every request, so it is made cheaply: the date and time are
    formatted once a second, the encoder once.
    """

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # (handlers format under their lock: one at a time)
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        entry: dict[str, Any] = {
            "timestamp": f"{self._stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = log_context.get()
        if context:
            entry.update(context)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key[0] != "_":
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _line(entry)


class RecordMaker:
    """Records of one logger, level and message, made by copying the first one.

    For the line logged at every request: `LogRecord()` works out the same source
    file, module, thread and process names at each call, a sixth of the line's cost; a
    copy takes them as they were and sets only the time and the extras anew. Where it
    goes (the logger's level, handlers, filters) is `Logger.info`'s.
    """

    def __init__(self, logger: logging.Logger, level: int, message: str) -> None:
        self.logger, self.level, self.message = logger, level, message
        self._fields: dict[str, Any] | None = None

    def log(self, **extra: Any) -> None:
        if not self.logger.isEnabledFor(self.level):
            return
        if self._fields is None:  # at the first line: in the process and thread that serve
            first = self.logger.makeRecord(
                self.logger.name, self.level, "(unknown file)", 0, self.message, (), None
            )
            self._fields = first.__dict__
        record = logging.LogRecord.__new__(logging.LogRecord)
        fields = record.__dict__
        fields.update(self._fields)
        now = time.time()
        fields["created"] = now
        fields["msecs"] = int((now - int(now)) * 1000) + 0.0  # as LogRecord() has it
        fields["relativeCreated"] = (now - logging._startTime) * 1000  # type: ignore[attr-defined]
        fields.update(extra)
        self.logger.handle(record)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """The context and the `extra=` fields of a record."""
    extras = dict(log_context.get() or {})
    for key, value in record.__dict__.items():
        if key not in _STANDARD and not key.startswith("_"):
            extras[key] = value
    return extras


class TextFormatter(logging.Formatter):
    """`warning: message (key=value, ...)`: a line a person reads beside a command's report."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{record.levelname.lower()}: {record.getMessage()}"
        extras = _extras(record)
        if extras:
            line += " (" + ", ".join(f"{key}={value}" for key, value in extras.items()) + ")"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: str = "INFO", stream: Any = None, log_format: str = "json") -> None:
    """Send every logger's records to one place, in `log_format`.

    `json`: every record at `level` and above, a JSON object per line on standard output
    (what `serve` writes for the platform's log collector). `text`: for a one-off command
    run by a person, warnings and errors only (DEBUG shows everything), as short lines on
    standard error, so standard output holds the command's report alone.
    """
    # Neither format shows where a call was made from, nor the thread or process: not
    # computing them spares each line a walk up the stack (logging HOWTO, "Optimization").
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    if log_format == "text":
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(TextFormatter())
        if level != "DEBUG":
            handler.setLevel(logging.WARNING)
    else:
        handler = logging.StreamHandler(stream or sys.stdout)
        handler.setFormatter(JSONFormatter())
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries that are chatty at INFO; their warnings still come through. The database
    # drivers' debug lines carry statements' values (an Azure AuthToken, say).
    for name in ("aiosqlite", "alembic", "apscheduler", "databases", "httpx", "uvicorn.access"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
