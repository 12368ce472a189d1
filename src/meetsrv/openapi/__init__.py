"""OpenAPI 3.1 descriptions of the doors, generated from their Klein routes, their request models
and the answers each route declares (`@operation`), served at /openapi/<door>.json with a
Swagger UI page at /docs/<door>."""

from meetsrv.openapi.metadata import FORM, JSON, MULTIPART, Answer, Api, Operation, WebSocket, operation

__all__ = ["Answer", "Api", "FORM", "JSON", "MULTIPART", "Operation", "WebSocket", "operation"]
