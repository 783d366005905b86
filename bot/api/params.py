"""Reading path, query and body parameters, with a clear 4xx for anything malformed."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from bot.api.errors import ApiError, ValidationError

MAX_ID = 2**31 - 1  # ids are 32-bit integers in the schema
# A JSON body for the API is small; anything far larger is refused before it is parsed.
MAX_JSON_BYTES = 1_000_000


def whole_number(raw: str) -> int | None:
    """`raw` as an int when it is ASCII digits, else None.

    `str.isdigit` alone also passes "²", and `int` refuses a string of more than 4300
    digits; both raised a 500. No number we take has anywhere near 100 digits.
    """
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 100:
        return None
    return int(raw)


def path_id(request: Request, name: str = "id") -> int:
    raw = request.path_params[name]
    value = whole_number(raw)
    if value is None or not 1 <= value <= MAX_ID:
        raise ApiError(404, f"{name} must be a positive whole number, got {raw!r}")
    return value


def invalid_query(errors: dict[str, str]) -> ValidationError:
    """400 naming each bad query parameter (not "invalid body": there is none)."""
    return ValidationError(
        errors, detail="invalid query: " + "; ".join(f"{k}: {v}" for k, v in errors.items())
    )


def query_int(
    request: Request,
    name: str,
    default: int | None = None,
    minimum: int = 1,
    maximum: int = MAX_ID,
) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = whole_number(raw)
    if value is None:
        raise invalid_query({name: "must be a whole number"})
    if not minimum <= value <= maximum:
        raise invalid_query({name: f"must be at least {minimum} and at most {maximum}"})
    return value


def query_bool(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw in ("true", "1", "yes", ""):
        return raw != ""
    if raw in ("false", "0", "no"):
        return False
    raise invalid_query({name: "must be true or false"})


def query_choice(request: Request, name: str, choices: tuple[str, ...], default: str) -> str:
    raw = request.query_params.get(name, default)
    if raw not in choices:
        raise invalid_query({name: f"must be one of {', '.join(choices)}"})
    return raw


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or 4xx saying why it is not one."""
    declared = whole_number(request.headers.get("content-length", ""))
    if declared is not None and declared > MAX_JSON_BYTES:
        raise ApiError(413, f"the body exceeds {MAX_JSON_BYTES} bytes")
    body = await request.body()
    if not body:
        raise ApiError(400, "a JSON object body is required")
    if len(body) > MAX_JSON_BYTES:  # sent chunked, without a length
        raise ApiError(413, f"the body exceeds {MAX_JSON_BYTES} bytes")
    try:
        value = json.loads(body)
        # Lone surrogates ("\ud800") parse but can never be answered back as UTF-8.
        json.dumps(value, ensure_ascii=False).encode()
    except RecursionError:  # "[[[[…" nested deeper than the parser goes
        raise ApiError(400, "the body is nested too deeply") from None
    except UnicodeEncodeError:
        raise ApiError(400, "the body holds an unpaired surrogate (\\ud800-\\udfff)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ApiError(400, "the body must be a JSON object")
    return value


def required_strings(body: dict[str, Any], *names: str, max_length: int = 255) -> dict[str, str]:
    """Each named field as a non-empty string; 400 naming every field that is not."""
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    for name in names:
        value = body.get(name)
        if name not in body or value is None:
            errors[name] = "is required"
        elif not isinstance(value, str):
            errors[name] = "must be a string"
        elif not value.strip():
            errors[name] = "must not be empty"
        elif has_control_characters(value):  # PostgreSQL's text cannot even hold NUL
            errors[name] = "must not contain control characters"
        elif len(value) > max_length:
            errors[name] = f"must be at most {max_length} characters"
        else:
            values[name] = value.strip()
    if errors:
        raise ValidationError(errors)
    return values


def has_control_characters(text: str) -> bool:
    """True for C0 controls and DEL: a NUL PostgreSQL cannot store, line breaks that
    would split a mail header."""
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def reject_unknown(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ValidationError({name: "is not a known field" for name in unknown})
