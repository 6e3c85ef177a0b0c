"""The lookup fast path (``service.fastpath``) answers exactly as the FastAPI route, on both
databases: the same status, body bytes, headers and access-log entry for every kind of
answer; requests it cannot take (malformed body, another content type) reach the route."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest_service import ADMIN, World, bureau_data, database_url  # noqa: F401
from openbureau.service import Settings, create_app, fastpath
from openbureau.service.models import AccessLog

# what the route gets: JSON all the same, but not the exact type the fast path takes
ROUTE = {"Content-Type": "application/json; charset=utf-8"}
FAST = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def world(database_url, bureau_data):  # noqa: F811
    app = create_app(Settings(database_url=database_url, admin_key="admin-secret"))
    with TestClient(app) as client:
        w = World(client, bureau_data)
        w.consent("high", "CarCo", "tenancy", share_number=True)
        w.consent("low", "CarCo", "tenancy")
        w.consent("low", "CarCo", "credit_application")
        r = client.post("/admin/partners", json={"name": "DecideOnly", "scopes": ["decision"]},
                        headers=ADMIN)  # fmt: skip
        assert r.status_code == 201, r.text
        w.keys["DecideOnly"] = {"X-API-Key": r.json()["api_key"]}
        assert client.post("/me/freeze", headers=w.tokens["low"]).status_code == 200
        yield w


@pytest.fixture
def fast_calls(monkeypatch) -> list[str]:
    """The persons the fast path answered itself (the route calls ``answer_lookup`` too,
    but through its own module)."""
    calls: list[str] = []
    real = fastpath.answer_lookup

    async def counted(svc: Any, key_hash: str, body: Any) -> Any:
        calls.append(body.person)
        return await real(svc, key_hash, body)

    monkeypatch.setattr(fastpath, "answer_lookup", counted)
    return calls


def _last_entry(w: World) -> tuple[Any, ...] | None:
    svc = w.c.app.state.service
    with svc.sessions() as s:
        e = s.scalars(select(AccessLog).order_by(AccessLog.seq.desc()).limit(1)).first()
        if e is None:
            return None
        return (e.partner_name, e.person_id, e.action, e.purpose, e.outcome, e.reason, e.detail)


def _both(w: World, body: bytes, headers: dict[str, str]) -> tuple[Any, Any, Any, Any]:
    """The same request through the fast path and through the route; answers and entries."""
    fast = w.c.post("/partner/lookup", content=body, headers={**headers, **FAST})
    fast_entry = _last_entry(w)
    route = w.c.post("/partner/lookup", content=body, headers={**headers, **ROUTE})
    return fast, route, fast_entry, _last_entry(w)


def _cases(w: World) -> list[tuple[str, bytes, dict[str, str], int]]:
    high, low = w.high["person_id"].encode(), w.low["person_id"].encode()
    car, look, decide = w.keys["CarCo"], w.keys["LookOnly"], w.keys["DecideOnly"]
    return [
        ("number shared", b'{"person":"%s","purpose":"tenancy"}' % high, car, 200),
        ("proof", b'{"person":"%s","purpose":"tenancy","threshold":600}' % low, car, 200),
        ("no consent", b'{"person":"%s","purpose":"tenancy"}' % high, look, 403),
        ("not on file", b'{"person":"P00000000-none","purpose":"tenancy"}', car, 403),
        ("refused purpose", b'{"person":"%s","purpose":"marketing"}' % high, car, 403),
        ("unknown purpose", b'{"person":"%s","purpose":"gossip"}' % high, car, 403),
        ("frozen file", b'{"person":"%s","purpose":"credit_application"}' % low, car, 403),
        ("missing scope", b'{"person":"%s","purpose":"tenancy"}' % high, decide, 403),
    ]


def test_every_answer_is_the_routes_answer(world, fast_calls):
    for name, body, headers, code in _cases(world):
        fast, route, fast_entry, route_entry = _both(world, body, headers)
        assert fast.status_code == route.status_code == code, (name, fast.text, route.text)
        assert fast.content == route.content, name
        assert fast.headers["content-type"] == route.headers["content-type"], name
        assert fast_entry == route_entry, name  # the same log entry, but for its seq and hash
    assert len(fast_calls) == len(_cases(world))
    r = world.c.post(
        "/partner/lookup", content=_cases(world)[0][1], headers={**world.keys["CarCo"], **FAST}
    )
    assert r.status_code == 200 and r.json()["score"] == world.high["score"]


def test_bad_keys_are_refused_the_same_way(world, fast_calls):
    body = b'{"person":"%s","purpose":"tenancy"}' % world.high["person_id"].encode()
    for headers in ({}, {"X-API-Key": ""}, {"X-API-Key": "obk_forged"}):
        before = _last_entry(world)
        fast, route, _, _ = _both(world, body, headers)
        assert fast.status_code == route.status_code == 401, fast.text
        assert fast.content == route.content
        assert _last_entry(world) == before  # no partner, nothing to log against
    assert len(fast_calls) == 1  # the missing and empty keys are refused before the call


def test_what_the_fast_path_cannot_take_reaches_the_route(world, fast_calls):
    key, person = world.keys["CarCo"], world.high["person_id"]
    for body in (
        b'{"person":"%s","purpose":"tenancy","threshold":1000}' % person.encode(),
        b'{"person":"","purpose":"tenancy"}',
        b'{"person":"%s"' % person.encode(),
        b"",
    ):
        fast, route, _, _ = _both(world, body, key)
        assert fast.status_code == route.status_code == 422, fast.text
        assert fast.json() == route.json()
        assert isinstance(fast.json()["detail"], list)  # FastAPI's field errors
    assert fast_calls == []
    r = world.c.get("/partner/lookup", headers=key)
    assert r.status_code == 405
