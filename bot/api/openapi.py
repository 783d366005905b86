"""The OpenAPI 3.1 document, generated from the declared routes (bot/api/declare.py)."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import TypeAdapter

from bot import __version__
from bot.api.declare import JSON, Answer, Operation

REF = "#/components/schemas/{model}"


def parameters(where: str, schema: dict[str, Any], defs: dict[str, Any]) -> list[dict]:
    """An input model's fields as OpenAPI parameters."""
    model = defs[schema["$ref"].rpartition("/")[2]]
    required = set(model.get("required", ()))
    found = []
    for field, field_schema in model["properties"].items():
        # No title; no `default: null` for a parameter that is simply optional.
        field_schema = {
            k: v
            for k, v in field_schema.items()
            if k != "title" and not (k == "default" and v is None)
        }
        description = field_schema.pop("description", "")
        found.append(
            {
                "name": field,
                "in": where,
                "required": where == "path" or field in required,
                "schema": field_schema,
                "description": description,
            }
        )
    return found


def answer(item: Answer, schemas: dict[tuple[Any, str], Any]) -> dict[str, Any]:
    described: dict[str, Any] = {"description": item.description}
    if item.media_types:
        described["content"] = {
            media: {
                "schema": schemas[(item.shape, "serialization")]
                if media == JSON and item.shape is not None
                else dict(item.schema)
            }
            for media in item.media_types
        }
    if item.headers:
        described["headers"] = {
            name: {"description": h.description, "schema": dict(h.schema)}
            for name, h in item.headers.items()
        }
    if item.links:
        described["links"] = {
            name: {"operationId": link.operation, "parameters": dict(link.parameters)}
            for name, link in item.links.items()
        }
    return described


def operation_of(op: Operation, schemas: dict[tuple[Any, str], Any], defs: dict) -> dict:
    described: dict[str, Any] = {"operationId": op.name, "summary": op.summary, "tags": [op.tag]}
    if op.description:
        described["description"] = op.description
    found = []
    if op.path_model is not None:
        found += parameters("path", schemas[(op.path_model, "validation")], defs)
    if op.query is not None:
        found += parameters("query", schemas[(op.query, "validation")], defs)
    if op.headers is not None:
        found += parameters("header", schemas[(op.headers, "validation")], defs)
    if found:
        described["parameters"] = found
    if op.body is not None:
        schema = schemas[(op.body, "validation")]
        described["requestBody"] = {
            "required": op.body_required,
            "content": {media: {"schema": schema} for media in op.body_media},
        }
    elif op.raw_body is not None:
        described["requestBody"] = {
            "required": True,
            "content": {media: {"schema": dict(op.raw_body)} for media in op.body_media},
        }
    if op.auth is not None:
        described["security"] = [{op.auth.name: []}]
    answers = sorted(op.all_answers, key=lambda a: a.status)
    described["responses"] = {str(a.status): answer(a, schemas) for a in answers}
    return described


@cache
def openapi_spec(operations: tuple[Operation, ...], public_url: str) -> dict[str, Any]:
    """The document for these operations (computed once per app: it never changes)."""
    names = [op.name for op in operations]
    # The handler's name is the operationId, which links name: two alike would be ambiguous.
    assert len(set(names)) == len(names), f"handlers named alike: {sorted(names)}"
    wanted: dict[tuple[Any, str], TypeAdapter[Any]] = {}
    for op in operations:
        for model in (op.path_model, op.query, op.headers, op.body):
            if model is not None:
                wanted[(model, "validation")] = TypeAdapter(model)
        for item in op.all_answers:
            if item.shape is not None:
                wanted[(item.shape, "serialization")] = TypeAdapter(item.shape)
    keyed, defs = TypeAdapter.json_schemas(
        [(key, mode, adapter) for (key, mode), adapter in wanted.items()], ref_template=REF
    )
    schemas = dict(keyed)
    components = dict(defs.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = operation_of(op, schemas, components)
    # Path, query and header models are parameters, not components.
    for op in operations:
        for model in (op.path_model, op.query, op.headers):
            if model is not None:
                components.pop(model.__name__, None)
    schemes = {op.auth.name: dict(op.auth.scheme) for op in operations if op.auth is not None}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Reviewer",
            "version": __version__,
            "description": "Keeps pull-request reviews moving and gates releases on approval.",
        },
        "servers": [{"url": public_url}],
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": schemes},
    }
