"""Sign in and out: a password checked with argon2 buys a bearer token for a few hours."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import delete, select

from openbureau.service.deps import DB, CurrentPerson, ServiceDep
from openbureau.service.models import LoginSession, Person
from openbureau.service.schemas import LoginIn, TokenOut
from openbureau.service.security import new_session_token, sha256_hex, verify_password

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login")
def login(body: LoginIn, s: DB, svc: ServiceDep) -> TokenOut:
    person = s.scalar(select(Person).where(Person.login == body.login))
    if not verify_password(person.password_hash if person else None, body.password):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong login or password")
    assert person is not None
    token = new_session_token()
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=svc.settings.session_hours)
    s.add(LoginSession(token_hash=sha256_hex(token), person_pk=person.id, expires_at=expires))
    s.commit()
    return TokenOut(token=token, expires_at=expires)


@router.post("/logout", status_code=204)
def logout(person: CurrentPerson, s: DB) -> None:
    """Ends every session of the signed-in person."""
    s.execute(delete(LoginSession).where(LoginSession.person_pk == person.id))
    s.commit()
