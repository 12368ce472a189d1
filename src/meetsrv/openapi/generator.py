"""The OpenAPI 3.1 document of a door, built from its Klein URL map, its request models
(`Model.model_json_schema()`) and the metadata each route carries (metadata.operation).

Every rule of the URL map must be described: a route without `@operation` is an error here, so
a new route cannot be served undescribed.
"""

from __future__ import annotations

import copy
import importlib.metadata
import re
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, TypeAdapter

from meetsrv.openapi.metadata import MULTIPART, Api, Operation

OPENAPI_VERSION = "3.1.0"
REF = "#/components/schemas/{model}"
# HEAD and OPTIONS are werkzeug's additions to a GET rule, not routes of their own
IMPLIED_METHODS = {"HEAD", "OPTIONS"}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")
_CONVERTERS = {
    "int": {"type": "integer", "minimum": 0},
    "default": {"type": "string", "pattern": "^[^/]+$"},
    "string": {"type": "string", "pattern": "^[^/]+$"},
    "path": {"type": "string"},
}


class Undescribed(Exception):
    """A route of the URL map without `@operation`."""


def server_version() -> str:
    try:
        return importlib.metadata.version("meetsrv")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "0"


def describe(door_cls, version: str | None = None) -> dict:
    """The door's OpenAPI 3.1 document (a JSON-ready dict); its version is meetsrv's."""
    version = version or server_version()
    api: Api = door_cls.api
    schemas = _Schemas()
    paths: dict[str, dict] = {}
    for rule in sorted(door_cls.app.url_map.iter_rules(), key=lambda r: r.rule):
        fn = getattr(door_cls, rule.endpoint, None)
        described: Operation | None = getattr(fn, "openapi", None)
        if described is None:
            raise Undescribed(f"{door_cls.name}: {rule.rule} ({rule.endpoint}) has no @operation")
        path, variables = openapi_path(rule.rule)
        for method in rule_methods(rule, described):
            paths.setdefault(path, {})[method.lower()] = _operation(
                api, schemas, door_cls, rule, method, path, variables, described)
    document = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": api.title, "version": version, "description": api.description},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": {}, "securitySchemes": api.schemes},
    }
    tags = sorted({tag for _, tag in api.tags})
    if tags:
        document["tags"] = [{"name": t} for t in tags]
    document["components"]["schemas"] = dict(sorted(schemas.components.items()))
    return document


def rule_methods(rule, described: Operation) -> list[str]:
    """The methods a rule is described with: its own, or the one a method-less rule serves."""
    methods = sorted(set(rule.methods or ()) - IMPLIED_METHODS)
    if methods:
        return methods
    return [described.method or "GET"]


def openapi_path(rule: str) -> tuple[str, list[dict]]:
    """A werkzeug rule as an OpenAPI path template and its path parameters."""
    variables = []

    def replace(m):
        schema = dict(_CONVERTERS.get(m.group("converter") or "default", {"type": "string"}))
        variables.append({"name": m.group("name"), "in": "path", "required": True, "schema": schema})
        return "{" + m.group("name") + "}"

    return _VARIABLE.sub(replace, rule), variables


def _operation(api: Api, schemas, door_cls, rule, method: str, path: str, variables, described: Operation) -> dict:
    out: dict[str, Any] = {"operationId": _operation_id(rule, method), "summary": described.summary}
    if described.description:
        out["description"] = described.description
    tag = next((t for prefix, t in api.tags if path.startswith(prefix)), None)
    if tag:
        out["tags"] = [tag]
    parameters = [dict(v, schema=described.variables[v["name"]]) if v["name"] in described.variables else v
                  for v in variables]
    query = described.websocket.query if described.websocket else described.query
    if query is not None:
        parameters.extend(query_parameters(query, schemas))
    if parameters:
        out["parameters"] = parameters
    answers: dict[int, Any] = {}
    if described.body is not None:
        media = described.media or api.media
        if f"{method} {rule.rule}" in door_cls.multipart_routes and MULTIPART not in media:
            media = (*media, MULTIPART)
        body_schema = described.body.model_json_schema()
        out["requestBody"] = {
            "required": bool(body_schema.get("required")),
            "content": {m: {"schema": schemas.body(described.body, with_files=m == MULTIPART)} for m in media},
        }
        answers.update(api.body_answers)
    elif described.content is not None:
        out["requestBody"] = {"required": True, "content": described.content}
    if described.query is not None:
        answers.update({s: a for s, a in api.query_answers.items() if s not in answers})
    if described.auth:
        requirement = api.unsafe_requirement if method in UNSAFE_METHODS and api.unsafe_requirement else api.requirement
        out["security"] = list(requirement) + ([{}] if described.auth == "optional" else [])
        if described.auth is True:
            answers.update({s: a for s, a in api.auth_answers.items() if s not in answers})
    else:
        out["security"] = [{}]
    if variables and api.error is not None:
        answers.setdefault(404, api.error)
    answers.update(described.answers)
    out["responses"] = {str(status): _response(schemas, status, answer, described.headers.get(status))
                        for status, answer in sorted(answers.items())}
    if described.websocket is not None:
        ws = described.websocket
        responses = {"101": {"description": "Switching Protocols: the WebSocket is open."}}
        for status, why in sorted(ws.refusals.items()):
            responses[str(status)] = {"description": f"The handshake is refused: {why}."}
        if api.error is not None:
            for status, why in ((404, "Not Found: a path variable out of its type"),
                                (426, "Upgrade Required: a plain HTTP request")):
                responses[str(status)] = {"description": why,
                                          "content": {"application/json": {"schema": schemas.answer(api.error)}}}
        out["responses"] = dict(sorted(responses.items()))
        out["x-websocket"] = {
            "receives": schemas.answer(ws.receives),
            "sends": schemas.answer(ws.sends),
        }
    return out


def _operation_id(rule, method: str) -> str:
    methods = sorted(set(rule.methods or ()) - IMPLIED_METHODS)
    return rule.endpoint if len(methods) <= 1 else f"{rule.endpoint}_{method.lower()}"


def _response(schemas, status: int, answer, headers: dict | None) -> dict:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = str(status)
    out: dict[str, Any] = {"description": phrase}
    if answer is not None:
        out["content"] = {"application/json": {"schema": schemas.answer(answer)}}
    if headers:
        out["headers"] = {name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()}
    return out


def query_parameters(model: type[BaseModel], schemas: _Schemas) -> list[dict]:
    """A query model's fields as query parameters (a query string has no null: a field that may
    be null is one that may be left out)."""
    schema = schemas.hoist(model.model_json_schema(ref_template=REF))
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema.get("properties", {}).items():
        prop = _not_null(prop)
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if "description" in prop:
            param["description"] = prop.pop("description")
        out.append(param)
    return out


def _not_null(schema: dict) -> dict:
    schema = {k: v for k, v in schema.items() if k != "title" and not (k == "default" and v is None)}
    options = schema.get("anyOf")
    if options:
        kept = [o for o in options if o.get("type") != "null"]
        schema.pop("anyOf")
        if len(kept) == 1:
            schema.update(kept[0])
        else:
            schema["anyOf"] = kept
    return schema


def _allows_null(schema: dict) -> bool:
    kind = schema.get("type")
    if "const" in schema:
        return schema["const"] is None
    if "enum" in schema:
        return None in schema["enum"]
    if "anyOf" in schema:
        return any(_allows_null(o) for o in schema["anyOf"])
    return kind is None or kind == "null" or (isinstance(kind, list) and "null" in kind)


def _drop_null_defaults(schema) -> None:
    """A model's `field: T = None` means "may be left out", not "may be null": its default null
    goes where the type has no null (a default must be a valid value)."""
    if isinstance(schema, dict):
        if "default" in schema and schema["default"] is None and not _allows_null(schema):
            del schema["default"]
        for value in schema.values():
            _drop_null_defaults(value)
    elif isinstance(schema, list):
        for value in schema:
            _drop_null_defaults(value)


def _is_file(schema: dict) -> bool:
    if schema.get("format") == "binary":
        return True
    return any(_is_file(o) for o in schema.get("anyOf", ()) if isinstance(o, dict))


class _Schemas:
    """The components/schemas of one door: each model once under its name."""

    def __init__(self):
        self.components: dict[str, dict] = {}

    def _add(self, name: str, schema: dict) -> None:
        known = self.components.get(name)
        if known is not None and known != schema:
            raise ValueError(f"two different schemas named {name}")
        self.components[name] = schema

    def hoist(self, schema: dict) -> dict:
        _drop_null_defaults(schema)
        for name, sub in schema.pop("$defs", {}).items():
            self._add(name, sub)
        return schema

    def model(self, model: type[BaseModel], mode: str) -> dict:
        schema = self.hoist(model.model_json_schema(ref_template=REF, mode=mode))
        name = re.sub(r"\W", "_", model.__name__)
        self._add(name, schema)
        return {"$ref": REF.format(model=name)}

    def body(self, model: type[BaseModel], with_files: bool) -> dict:
        schema = self.hoist(model.model_json_schema(ref_template=REF))
        files = [k for k, v in schema.get("properties", {}).items() if _is_file(v)]
        if with_files or not files:
            return self.model(model, "validation")
        # JSON and forms carry no files: the model without its file fields
        schema = copy.deepcopy(schema)
        for name in files:
            schema["properties"].pop(name)
        if "required" in schema:
            schema["required"] = [r for r in schema["required"] if r not in files]
            if not schema["required"]:
                schema.pop("required")
        return schema

    def answer(self, answer) -> dict:
        if isinstance(answer, dict):
            return answer
        if isinstance(answer, type) and issubclass(answer, BaseModel):
            return self.model(answer, "serialization")
        return self.hoist(TypeAdapter(answer).json_schema(ref_template=REF, mode="serialization"))
