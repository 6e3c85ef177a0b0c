"""Injected dependencies: the database session, and who is calling (person, partner, admin)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from openbureau.service.models import LoginSession, Partner, Person
from openbureau.service.ratelimit import RateLimiter
from openbureau.service.replay import ModelCache
from openbureau.service.security import same_secret, sha256_hex
from openbureau.service.settings import Settings

if TYPE_CHECKING:
    from openbureau.service.pgasync import AsyncPostgres


class LogWriter(Protocol):
    """Appends an access-log entry and returns once it is committed (``audit.AuditWriter``
    on SQLite, ``pgasync.AsyncPostgres`` on PostgreSQL)."""

    async def append_async(self, timeout: float = 60.0, **entry: Any) -> dict[str, Any]: ...


@dataclass
class Service:
    """Everything a request handler may need, built once per app."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    models: ModelCache
    pack: Any
    limiter: RateLimiter
    audit: LogWriter
    # partner lookups: autocommit connections without pre-ping (one round trip per read),
    # used from their own threads so a burst of lookups never waits behind other requests
    reader: Engine
    read_pool: ThreadPoolExecutor
    # PostgreSQL: the lookup's read and the log's group commit on the event loop instead
    pg: AsyncPostgres | None = None


async def service(request: Request) -> Service:
    """Async on purpose: no I/O, so no hop to the thread pool (one per sync dependency)."""
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(service)]


def db(svc: ServiceDep) -> Iterator[Session]:
    with svc.sessions() as s:
        yield s


DB = Annotated[Session, Depends(db)]

MISSING_KEY = "send the partner API key in X-API-Key"

_bearer = HTTPBearer(auto_error=False, description="A token from POST /auth/login.")
_partner_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="A partner key.")
_admin_key = APIKeyHeader(name="X-Admin-Key", auto_error=False, description="The admin key.")


def current_person(
    s: DB, creds: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
) -> Person:
    if creds is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "sign in first: send 'Authorization: Bearer <token>' with a token from "
            "POST /auth/login",
            headers={"WWW-Authenticate": "Bearer"},
        )
    found = s.scalar(
        select(LoginSession).where(LoginSession.token_hash == sha256_hex(creds.credentials))
    )
    if found is None or found.expires_at <= dt.datetime.now(dt.UTC):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "this session token is unknown or expired: sign in again",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return found.person


def current_partner(s: DB, key: Annotated[str | None, Security(_partner_key)]) -> Partner:
    if not key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, MISSING_KEY)
    partner = s.scalar(select(Partner).where(Partner.key_hash == sha256_hex(key)))
    if partner is None or not partner.active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or disabled partner API key")
    return partner


async def partner_key_hash(key: Annotated[str | None, Security(_partner_key)]) -> str:
    """The SHA-256 of the partner key; the partner itself is read with the request's data."""
    if not key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, MISSING_KEY)
    return sha256_hex(key)


def require_admin(svc: ServiceDep, key: Annotated[str | None, Security(_admin_key)]) -> None:
    if not svc.settings.admin_key:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "admin endpoints are disabled: start the service with OPENBUREAU_ADMIN_KEY set",
        )
    if not same_secret(key, svc.settings.admin_key):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "send the admin key in X-Admin-Key")


CurrentPerson = Annotated[Person, Depends(current_person)]
CurrentPartner = Annotated[Partner, Depends(current_partner)]
PartnerKeyHash = Annotated[str, Depends(partner_key_hash)]
Admin = Depends(require_admin)
