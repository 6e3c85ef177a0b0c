"""The authorisation matrix: every route of the app x every kind of caller, on both databases.

The routes come from FastAPI's route table, so a new route without a row here fails the test.
A person's data never reaches another caller: the other person's answers are checked for the
first person's id.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import update

from conftest_service import ADMIN, World, _future, bureau_data, database_url  # noqa: F401
from openbureau.service import Settings, create_app
from openbureau.service.models import Consent

ROLES = (
    "person",
    "other_person",
    "partner_consent",
    "partner_no_consent",
    "partner_expired",
    "partner_revoked",
    "admin",
    "anonymous",
)
PURPOSE = "rental_deposit_waiver"  # the purpose of the deposit_free_car_rental offer
_n = itertools.count()


@dataclass
class Setup:
    world: World
    headers: dict[str, dict[str, str]]
    person_id: str
    ids: dict[str, Any]


@pytest.fixture(scope="module")
def setup(database_url, bureau_data):  # noqa: F811
    app = create_app(Settings(database_url=database_url, admin_key="admin-secret"))
    with TestClient(app) as client:
        w = World(client, bureau_data)
        keys = {}
        for role in ("partner_consent", "partner_no_consent", "partner_expired", "partner_revoked"):
            r = client.post("/admin/partners", json={"name": role}, headers=ADMIN)
            keys[role] = {"X-API-Key": r.json()["api_key"]}
        person = w.low["person_id"]
        ids: dict[str, Any] = {}
        for role in ("partner_consent", "partner_expired", "partner_revoked"):
            ids[role] = w.consent("low", role, PURPOSE)["id"]
        ids["spare_consent"] = w.consent("low", "partner_consent", "tenancy")["id"]
        client.delete(f"/me/consents/{ids['partner_revoked']}", headers=w.tokens["low"])
        with client.app.state.service.engine.begin() as conn:
            past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            conn.execute(
                update(Consent).where(Consent.id == ids["partner_expired"]).values(expires_at=past)
            )
        for _ in range(2):  # two adverse decisions: one reviewed here, one by the matrix
            r = client.post(
                "/partner/decision",
                json={"person": person, "offer": "deposit_free_car_rental"},
                headers=keys["partner_consent"],
            )
            assert r.status_code == 200 and r.json()["eligible"] is False, r.text
        log = client.get("/me/access-log", headers=w.tokens["low"]).json()
        seqs = sorted(e["seq"] for e in log if e["action"] == "decision")
        r = client.post(
            "/me/reviews", json={"decision_seq": seqs[0], "statement": "x"}, headers=w.tokens["low"]
        )
        ids["review"], ids["free_decision"] = r.json()["id"], seqs[1]
        records = client.get("/me/records", headers=w.tokens["low"]).json()["records"]
        repayments = [r for r in records if r["table"] == "repayments"]
        assert len(repayments) >= 2
        r = client.post(
            "/me/disputes",
            json={"table": "repayments", "key": repayments[0]["key"], "statement": "x"},
            headers=w.tokens["low"],
        )
        assert r.status_code == 201, r.text
        ids["dispute"], ids["free_record"] = r.json()["id"], repayments[1]["key"]
        headers = {
            "person": w.tokens["low"],
            "other_person": w.tokens["high"],
            "admin": ADMIN,
            "anonymous": {},
            **keys,
        }
        yield Setup(w, headers, person, ids)


def _everyone(code: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, code)


def _people(mine: int, theirs: int | None = None) -> dict[str, int]:
    """A /me route: the person and the other person (their own data, or 404 for an id
    that is not theirs); nobody else is signed in."""
    return {**_everyone(401), "person": mine, "other_person": mine if theirs is None else theirs}


def _partners(granted: int) -> dict[str, int]:
    return {
        **_everyone(401),
        "partner_consent": granted,
        "partner_no_consent": 403,
        "partner_expired": 403,
        "partner_revoked": 403,
    }


def _admin(code: int) -> dict[str, int]:
    return {**_everyone(401), "admin": code}


Request = Callable[[Setup], tuple[str, dict[str, Any] | None]]


def _at(path: str, body: Callable[[Setup], dict[str, Any]] | None = None) -> Request:
    return lambda s: (path.format(**s.ids, person_id=s.person_id), body(s) if body else None)


MATRIX: dict[tuple[str, str], tuple[Request, dict[str, int]]] = {
    ("GET", "/health"): (_at("/health"), _everyone(200)),
    ("GET", "/purposes"): (_at("/purposes"), _everyone(200)),
    ("POST", "/auth/login"): (
        _at("/auth/login", lambda s: {"login": "low", "password": "low-password"}),
        _everyone(200),
    ),
    ("GET", "/me/score"): (_at("/me/score"), _people(200)),
    ("GET", "/me/history"): (_at("/me/history"), _people(200)),
    ("GET", "/me/benefits"): (_at("/me/benefits"), _people(200)),
    ("POST", "/me/what-if"): (
        _at("/me/what-if", lambda s: {"changes": {"utilisation_latest": 0.1}}),
        _people(200),
    ),
    ("POST", "/me/consents"): (
        _at(
            "/me/consents",
            lambda s: {"partner": "CarCo", "purpose": "tenancy", "expires_at": _future()},
        ),
        _people(201),
    ),
    ("GET", "/me/consents"): (_at("/me/consents"), _people(200)),
    ("DELETE", "/me/consents/{consent_id}"): (
        _at("/me/consents/{spare_consent}"),
        _people(200, 404),
    ),
    ("GET", "/me/access-log"): (_at("/me/access-log"), _people(200)),
    ("GET", "/me/records"): (_at("/me/records"), _people(200)),
    ("POST", "/me/disputes"): (
        _at(
            "/me/disputes",
            lambda s: {"table": "repayments", "key": s.ids["free_record"], "statement": "x"},
        ),
        _people(201, 404),
    ),
    ("GET", "/me/disputes"): (_at("/me/disputes"), _people(200)),
    ("GET", "/me/disputes/{dispute_id}"): (_at("/me/disputes/{dispute}"), _people(200, 404)),
    ("GET", "/me/freeze"): (_at("/me/freeze"), _people(200)),
    ("POST", "/me/freeze"): (_at("/me/freeze"), _people(200)),
    ("DELETE", "/me/freeze"): (_at("/me/freeze"), _people(200)),
    ("POST", "/me/reviews"): (
        _at("/me/reviews", lambda s: {"decision_seq": s.ids["free_decision"], "statement": "x"}),
        _people(201, 404),
    ),
    ("GET", "/me/reviews"): (_at("/me/reviews"), _people(200)),
    ("GET", "/me/export"): (_at("/me/export"), _people(200)),
    ("POST", "/partner/lookup"): (
        _at("/partner/lookup", lambda s: {"person": s.person_id, "purpose": PURPOSE}),
        _partners(200),
    ),
    ("POST", "/partner/decision"): (
        _at(
            "/partner/decision",
            lambda s: {"person": s.person_id, "offer": "deposit_free_car_rental"},
        ),
        _partners(200),
    ),
    ("GET", "/partner/offers"): (
        _at("/partner/offers"),
        {
            **_partners(200),
            "partner_no_consent": 200,
            "partner_expired": 200,
            "partner_revoked": 200,
        },
    ),
    ("POST", "/admin/people"): (
        _at(
            "/admin/people",
            lambda s: {"person_id": f"PX{next(_n)}", "login": f"x{next(_n)}", "password": "p" * 8},
        ),
        _admin(201),
    ),
    ("POST", "/admin/partners"): (
        _at("/admin/partners", lambda s: {"name": f"Partner{next(_n)}"}),
        _admin(201),
    ),
    ("POST", "/admin/offers"): (
        _at(
            "/admin/offers",
            lambda s: {
                "code": f"offer_{next(_n)}",
                "title": "T",
                "description": "D",
                "min_score": 600,
                "purpose": "tenancy",
            },
        ),
        _admin(201),
    ),
    # past authorisation, publishing the file again is refused: admin gets the domain's 400
    ("POST", "/admin/score-versions"): (
        _at("/admin/score-versions", lambda s: {"scores": str(s.world.scores_path)}),
        _admin(400),
    ),
    ("GET", "/admin/score-versions"): (_at("/admin/score-versions"), _admin(200)),
    ("GET", "/admin/replay/{person_id}"): (_at("/admin/replay/{person_id}"), _admin(200)),
    ("GET", "/admin/audit/verify"): (_at("/admin/audit/verify"), _admin(200)),
    ("GET", "/admin/disputes"): (_at("/admin/disputes"), _admin(200)),
    ("POST", "/admin/disputes/{dispute_id}/resolve"): (
        _at("/admin/disputes/{dispute}/resolve", lambda s: {"outcome": "rejected", "note": "n"}),
        _admin(200),
    ),
    ("GET", "/admin/reviews"): (_at("/admin/reviews"), _admin(200)),
    ("GET", "/admin/models"): (_at("/admin/models"), _admin(200)),
    ("GET", "/admin/models/{model_id}"): (_at("/admin/models/no-such-model"), _admin(404)),
    ("POST", "/admin/models"): (
        _at("/admin/models", lambda s: {"path": "/nonexistent/model-folder"}),
        _admin(422),
    ),
    ("POST", "/admin/models/{model_id}/promote"): (
        _at(
            "/admin/models/no-such-model/promote",
            lambda s: {
                "release": "/nonexistent/release.json",
                "reason": "authz",
                "actor": "authz",
            },
        ),
        _admin(400),
    ),
    ("POST", "/admin/models/{model_id}/retire"): (
        _at(
            "/admin/models/no-such-model/retire",
            lambda s: {"reason": "authz", "actor": "authz"},
        ),
        _admin(404),
    ),
    ("POST", "/admin/reviews/{review_id}"): (
        _at("/admin/reviews/{review}", lambda s: {"status": "in_review"}),
        _admin(200),
    ),
    # last: it ends the sessions the rows above use
    ("POST", "/auth/logout"): (_at("/auth/logout"), _people(204)),
}


def _api_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) of every API route, into included routers (which FastAPI >= 0.16x keeps
    as lazy branches of the route table rather than copying their routes in)."""
    found = []
    for r in routes:
        if isinstance(r, APIRoute):
            found += [(m, prefix + r.path) for m in r.methods]
        elif hasattr(r, "original_router"):
            inner = getattr(getattr(r, "include_context", None), "prefix", "") or ""
            found += _api_routes(r.original_router.routes, prefix + inner)
    return found


def test_every_route_has_a_row_in_the_matrix(setup):
    app = setup.world.c.app
    routes = set(_api_routes(app.routes))
    # the walk misses nothing the OpenAPI document (built from the same table) lists
    documented = {(m.upper(), path) for path, ops in app.openapi()["paths"].items() for m in ops}
    assert documented <= routes
    assert routes - set(MATRIX) == set(), "routes without an authorisation row"
    assert set(MATRIX) - routes == set(), "rows for routes that do not exist"
    assert all(set(expected) == set(ROLES) for _, expected in MATRIX.values())


def test_every_route_answers_every_caller_as_the_matrix_says(setup):
    c = setup.world.c
    failures = []
    for (method, route), (request, expected) in MATRIX.items():
        for role in ROLES:
            path, body = request(setup)
            r = c.request(method, path, json=body, headers=setup.headers[role])
            if r.status_code != expected[role]:
                failures.append(f"{method} {route} as {role}: {r.status_code} {r.text[:200]}")
            if role in ("other_person", "anonymous") and setup.person_id in r.text:
                failures.append(f"{method} {route} as {role} shows {setup.person_id}")
            if r.status_code >= 400:
                assert r.json().get("detail"), f"{method} {route}: an error without a detail"
    assert not failures, "\n".join(failures)
