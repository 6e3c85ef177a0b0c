"""``POST /partner/lookup`` without FastAPI's per-request machinery: the service's busiest path.

Profiled under load (py-spy), a lookup spent about 60% of its Python time in FastAPI itself:
route matching over every route, dependency solving, validating the returned model again and
the middleware chain, against ~15% in the lookup's own work. This ASGI middleware answers
the lookup before any of that: it reads the body, validates it with the same ``LookupIn``
model, hashes the key and calls the same ``answer_lookup`` the FastAPI route calls, so the
checks, the access-log entry and its group commit, and the answer are the route's own.

It only takes what it can answer exactly as the route would: ``POST /partner/lookup`` with
``Content-Type: application/json`` and a body ``LookupIn`` accepts. Anything else (another
content type, malformed JSON, a field error) goes on to FastAPI, with the body replayed,
which answers it (a 422 with field errors, say) as before. The route stays in the OpenAPI
document, and the tests compare both paths byte for byte.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, status
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openbureau.service.deps import MISSING_KEY, Service
from openbureau.service.routes.partner import answer_lookup
from openbureau.service.schemas import LookupIn
from openbureau.service.security import sha256_hex

PATH = "/partner/lookup"
_JSON = b"application/json"


class PartnerLookupFastPath:
    """Answers well-formed partner lookups itself; passes every other request on."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        content_type = key = None
        for name, value in scope["headers"]:
            if name == b"content-type" and content_type is None:
                content_type = value
            elif name == b"x-api-key" and key is None:
                key = value
        if content_type != _JSON:
            await self.app(scope, receive, send)
            return
        body, more = await _read_body(receive)
        if more is not None:  # the client went away mid-body: let Starlette deal with it
            await self.app(scope, _replay(body, more, receive), send)
            return
        try:
            data = LookupIn.model_validate_json(body)
        except ValidationError:
            await self.app(scope, _replay(body, None, receive), send)
            return
        try:
            if not key:
                raise HTTPException(status.HTTP_401_UNAUTHORIZED, MISSING_KEY)
            # Starlette decodes header values as latin-1; the route hashes what it decoded
            out = await answer_lookup(self.service, sha256_hex(key.decode("latin-1")), data)
        except HTTPException as exc:
            await _respond(send, exc.status_code, _error_body(exc.detail), exc.headers)
            return
        await _respond(send, 200, out.__pydantic_serializer__.to_json(out), None)


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body; with the message that interrupted it (a disconnect), if any."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, then: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that gives the body already read once more, then carries on."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if then is not None:
            return then
        return await receive()

    return replayed


def _error_body(detail: Any) -> bytes:
    """What Starlette's ``JSONResponse({"detail": ...})`` renders for an ``HTTPException``."""
    return json.dumps(
        {"detail": detail}, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode()


async def _respond(send: Send, code: int, body: bytes, headers: dict[str, str] | None) -> None:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    raw += [(b"content-length", str(len(body)).encode()), (b"content-type", _JSON)]
    await send({"type": "http.response.start", "status": code, "headers": raw})
    await send({"type": "http.response.body", "body": body})
