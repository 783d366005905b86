"""Field types of the API's shapes: each states its JSON Schema and its check together.

A field whose rule pydantic cannot say in JSON Schema terms (or says with a message
less clear than ours) is one of these: the document shows the same rule the server
applies, and a refusal reads "must not contain control characters", not pydantic's
wording. Patterns are checked with Python's `re` and `fullmatch`, which for these
anchored patterns is what a JSON Schema (ECMA-262) validator decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

MAX_ID = 2**31 - 1  # ids are 32-bit integers in the schema

# C0 controls and DEL: a NUL PostgreSQL cannot store, line breaks that would split a
# mail header. Written as JSON Schema (ECMA-262) and Python both read it.
CONTROL = "\\u0000-\\u001f\\u007f"
# What str.strip() removes besides controls: a text of only these is blank.
SPACE = " \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
# One line of text: no control character, and something besides spaces.
PLAIN_TEXT_PATTERN = f"^[^{CONTROL}]*[^{CONTROL}{SPACE}][^{CONTROL}]*$"
_CONTROL_RE = re.compile(f"[{CONTROL}]")


def has_control_characters(text: str) -> bool:
    """True for C0 controls and DEL (see CONTROL)."""
    return _CONTROL_RE.search(text) is not None


def refuse(message: str, **context: Any) -> PydanticCustomError:
    """A validation error whose message is ours, word for word."""
    return PydanticCustomError("reviewer", message, context or None)


@dataclass(frozen=True)
class WholeNumber:
    """An integer within bounds, from JSON or from ASCII digits in a path or query.

    pydantic alone would read " 12", "1_000", "+5" and "12.0" as 12; a client that
    sends those is not sending the integer the document describes.
    """

    minimum: int = 1
    maximum: int = MAX_ID

    def check(self, value: Any) -> int:
        if isinstance(value, str):
            # `str.isdigit` alone also passes "²"; no number we take has 100 digits.
            if not (value.isascii() and value.isdigit()) or len(value) > 100:
                raise refuse("must be a whole number")
            value = int(value)
        elif isinstance(value, bool) or not isinstance(value, int):
            raise refuse("must be a whole number")
        if not self.minimum <= value <= self.maximum:
            raise refuse(f"must be at least {self.minimum} and at most {self.maximum}")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            self.check, serialization=core_schema.simple_ser_schema("int")
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


@dataclass(frozen=True)
class Flag:
    """A query flag: `true` or `false`, as the document says (not pydantic's `yes`, `on`)."""

    def check(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if value == "true":
            return True
        if value == "false":
            return False
        raise refuse("must be true or false")

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            self.check, serialization=core_schema.simple_ser_schema("bool")
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class PlainText:
    """One line of text, stored without surrounding spaces: not blank, no control
    character, at most `max_length` characters as sent."""

    max_length: int = 255

    def check(self, value: str) -> str:
        if not value.strip():
            raise refuse("must not be empty")
        if has_control_characters(value):  # PostgreSQL's text cannot even hold NUL
            raise refuse("must not contain control characters")
        if len(value) > self.max_length:
            raise refuse(f"must be at most {self.max_length} characters")
        return value.strip()

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            self.check, core_schema.str_schema(strict=True)
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {
            "type": "string",
            "minLength": 1,
            "maxLength": self.max_length,
            "pattern": PLAIN_TEXT_PATTERN,
        }


@dataclass(frozen=True)
class Matches:
    """A string that matches `pattern` (anchored), else refused with `message`."""

    pattern: str
    message: str
    compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", re.compile(self.pattern))

    def check(self, value: str) -> str:
        if not self.compiled.fullmatch(value):
            raise refuse(self.message)
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            self.check, core_schema.str_schema(strict=True)
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"type": "string", "pattern": self.pattern}


@dataclass(frozen=True)
class NonEmpty:
    """A string of at least one character, else refused with `message`."""

    message: str

    def check(self, value: str) -> str:
        if not value:
            raise refuse(self.message)
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            self.check, core_schema.str_schema(strict=True)
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"type": "string", "minLength": 1}


Id = Annotated[int, WholeNumber(1, MAX_ID)]
Text = Annotated[str, PlainText()]
# GitHub's rules: owners are alphanumerics and hyphens, repositories add `.` and `_`.
GITHUB_OWNER = r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}$"
GitHubOwner = Annotated[str, Matches(GITHUB_OWNER, "is not a GitHub user or organisation name")]
GitHubRepo = Annotated[
    str, Matches(r"^(?!\.\.?$)[A-Za-z0-9._-]{1,100}$", "is not a GitHub repository name")
]
