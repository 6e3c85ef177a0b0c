"""The API through FastAPI's TestClient on both databases: people, consents, partners."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from conftest_service import ADMIN, World, _future, bureau_data, database_url  # noqa: F401
from openbureau.service import Settings, create_app
from openbureau.service.models import Consent


@pytest.fixture(scope="module")
def world(database_url, bureau_data):  # noqa: F811
    app = create_app(Settings(database_url=database_url, admin_key="admin-secret"))
    with TestClient(app) as client:
        yield World(client, bureau_data)


def test_login_and_bad_credentials(world):
    c = world.c
    assert c.post("/auth/login", json={"login": "low", "password": "wrong"}).status_code == 401
    assert c.post("/auth/login", json={"login": "nobody", "password": "x"}).status_code == 401
    r = c.get("/me/score")
    assert r.status_code == 401 and "sign in" in r.json()["detail"]
    r = c.get("/me/score", headers={"Authorization": "Bearer obs_forged"})
    assert r.status_code == 401 and "unknown or expired" in r.json()["detail"]


def test_my_score_is_mine_and_explained(world):
    r = world.c.get("/me/score", headers=world.tokens["low"])
    assert r.status_code == 200
    body = r.json()
    assert body["person_id"] == world.low["person_id"]
    assert body["score"] == world.low["score"]
    assert set(body["subscores"]) == {"history", "behavior", "capacity", "identity", "network"}
    assert 1 <= len(body["reasons"]) <= 4
    points = [x["points"] for x in body["reasons"]]
    assert points == sorted(points, reverse=True)
    assert all(x["text"] for x in body["reasons"])
    assert body["band"] in ("poor", "fair", "good", "very good", "excellent")
    other = world.c.get("/me/score", headers=world.tokens["high"]).json()
    assert other["person_id"] == world.high["person_id"] != body["person_id"]
    history = world.c.get("/me/history", headers=world.tokens["low"]).json()["scores"]
    assert [h["person_id"] for h in history] == [world.low["person_id"]]


def test_benefits_unlock_by_threshold_with_a_path_to_the_next(world):
    body = world.c.get("/me/benefits", headers=world.tokens["low"]).json()
    score = body["score"]
    assert all(d["threshold"] <= score for d in body["unlocked"])
    assert all(d["threshold"] > score for d in body["locked"])
    assert body["next_threshold"] == min(d["threshold"] for d in body["locked"])
    path = body["path"]
    assert path is not None, body["path_unavailable"]
    assert path["target"] == body["next_threshold"]
    if path["reachable"]:
        assert path["score_after"] >= path["target"] and path["changes"]


def test_lookup_needs_consent_and_shares_the_number_only_if_agreed(world):
    person = world.low["person_id"]
    r = world.lookup("CarCo", person, "rental_deposit_waiver")
    assert r.status_code == 403 and "no active consent" in r.json()["detail"]
    consent = world.consent("low", "CarCo", "rental_deposit_waiver")
    assert consent["active"] and not consent["share_number"]
    r = world.lookup("CarCo", person, "rental_deposit_waiver")
    assert r.status_code == 200, r.text
    proof = r.json()
    assert proof["threshold"] == 650 and proof["meets_threshold"] is (world.low["score"] >= 650)
    assert proof["score"] is None and proof["band"] is None
    r = world.lookup("CarCo", person, "rental_deposit_waiver", threshold=350)
    assert r.json()["meets_threshold"] is True
    # consent for one purpose never covers another
    assert world.lookup("CarCo", person, "credit_line").status_code == 403
    world.consent("low", "CarCo", "credit_line", share_number=True)
    assert world.lookup("CarCo", person, "credit_line").json()["score"] == world.low["score"]
    # revocation is immediate
    r = world.c.delete(f"/me/consents/{consent['id']}", headers=world.tokens["low"])
    assert r.status_code == 200 and r.json()["active"] is False
    assert world.lookup("CarCo", person, "rental_deposit_waiver").status_code == 403


def test_expired_consent_and_unknown_people_are_refused_alike(world, database_url):  # noqa: F811
    person = world.high["person_id"]
    consent = world.consent("high", "LookOnly", "tenancy")
    assert world.lookup("LookOnly", person, "tenancy").status_code == 200
    engine = world.c.app.state.service.engine
    with engine.begin() as conn:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        conn.execute(update(Consent).where(Consent.id == consent["id"]).values(expires_at=past))
    r = world.lookup("LookOnly", person, "tenancy")
    assert r.status_code == 403
    unknown = world.lookup("LookOnly", "P99999999", "tenancy")
    assert unknown.status_code == 403 and "no active consent" in unknown.json()["detail"]


def test_purposes_are_checked_against_the_policy(world):
    person = world.high["person_id"]
    r = world.lookup("CarCo", person, "marketing")
    assert r.status_code == 403 and "not permitted" in r.json()["detail"]
    r = world.lookup("CarCo", person, "astrology")
    assert r.status_code == 403 and "unknown purpose" in r.json()["detail"]
    r = world.c.post(
        "/me/consents",
        json={"partner": "CarCo", "purpose": "marketing", "expires_at": _future()},
        headers=world.tokens["high"],
    )
    assert r.status_code == 422 and "not permitted" in r.json()["detail"]
    listed = world.c.get("/purposes").json()
    assert listed["marketing"]["permitted"] is False and listed["tenancy"]["permitted"] is True


def test_decision_declines_with_reasons_and_an_adverse_action_notice(world):
    person = world.low["person_id"]
    world.consent("low", "CarCo", "rental_deposit_waiver")
    r = world.c.post(
        "/partner/decision",
        json={"person": person, "offer": "deposit_free_car_rental"},
        headers=world.keys["CarCo"],
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["eligible"] is False and body["threshold"] == 650
    assert 1 <= len(body["reasons"]) <= 4
    notice = body["adverse_action"]
    assert notice["score"] == world.low["score"]
    assert notice["score_range"] == {"low": 350, "high": 950}
    assert notice["scored_on"] == "2025-12-31"
    assert [k["text"] for k in notice["key_factors"]] == [x["text"] for x in body["reasons"]]
    assert any("free copy" in x for x in notice["rights"])
    assert any("dispute" in x for x in notice["rights"])
    # a partner-specific offer anyone reaches: eligible, no reasons
    r = world.c.post(
        "/admin/offers",
        json={
            "code": "carco_welcome",
            "title": "Welcome",
            "description": "A welcome gift.",
            "min_score": 350,
            "purpose": "rental_deposit_waiver",
            "partner": "CarCo",
        },
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    ok = world.c.post(
        "/partner/decision",
        json={"person": person, "offer": "carco_welcome"},
        headers=world.keys["CarCo"],
    ).json()
    assert ok["eligible"] is True and ok["reasons"] == [] and ok["adverse_action"] is None
    # a partner without the decision scope is refused
    r = world.c.post(
        "/partner/decision",
        json={"person": person, "offer": "deposit_free_car_rental"},
        headers=world.keys["LookOnly"],
    )
    assert r.status_code == 403 and "scope" in r.json()["detail"]


def test_access_log_lists_every_lookup_of_me_and_only_mine(world):
    low = world.c.get("/me/access-log", headers=world.tokens["low"]).json()
    outcomes = {(e["partner"], e["outcome"]) for e in low}
    assert ("CarCo", "granted") in outcomes and ("CarCo", "denied") in outcomes
    seqs = [e["seq"] for e in low]
    assert seqs == sorted(seqs, reverse=True)
    high = world.c.get("/me/access-log", headers=world.tokens["high"]).json()
    assert not {e["seq"] for e in high} & set(seqs)
    assert all(e["partner"] for e in high)
    chain = world.c.get("/admin/audit/verify", headers=ADMIN).json()
    assert chain["ok"] and chain["entries"] >= len(low) + len(high)


def test_bad_requests_say_what_is_wrong(world):
    c, tok = world.c, world.tokens["low"]
    r = world.lookup("CarCo", world.low["person_id"], "tenancy", threshold=1000)
    assert r.status_code == 422 and "threshold" in r.text
    r = c.post("/partner/lookup", json={"purpose": "tenancy"}, headers=world.keys["CarCo"])
    assert r.status_code == 422 and "person" in r.text
    r = c.post("/partner/lookup", json={"person": "x", "purpose": "tenancy"})
    assert r.status_code == 401 and "X-API-Key" in r.json()["detail"]
    r = c.post(
        "/me/consents",
        json={"partner": "NoSuchCo", "purpose": "tenancy", "expires_at": _future()},
        headers=tok,
    )
    assert r.status_code == 404 and "NoSuchCo" in r.json()["detail"]
    r = c.post(
        "/me/consents",
        json={"partner": "CarCo", "purpose": "tenancy", "expires_at": "2020-01-01T00:00:00Z"},
        headers=tok,
    )
    assert r.status_code == 422 and "future" in r.text
    theirs = world.consent("high", "CarCo", "account_review")
    r = c.delete(f"/me/consents/{theirs['id']}", headers=tok)
    assert r.status_code == 404  # another person's consent is not even acknowledged
    assert c.post("/admin/partners", json={"name": "X"}).status_code == 401
    r = c.post("/admin/partners", json={"name": "CarCo"}, headers=ADMIN)
    assert r.status_code == 409 and "already exists" in r.json()["detail"]
    r = c.post("/admin/score-versions", json={"scores": "/nonexistent.parquet"}, headers=ADMIN)
    assert r.status_code == 400 and "does not exist" in r.json()["detail"]


def test_partner_lookups_are_rate_limited(database_url, bureau_data, tmp_path):  # noqa: F811
    app = create_app(
        Settings(database_url=database_url, admin_key="admin-secret", lookups_per_minute=3)
    )
    with TestClient(app) as c:
        key = {
            "X-API-Key": c.post("/admin/partners", json={"name": "Hasty"}, headers=ADMIN).json()[
                "api_key"
            ]
        }
        codes = [
            c.post("/partner/lookup", json={"person": "P1", "purpose": "tenancy"}, headers=key)
            for _ in range(4)
        ]
    assert [r.status_code for r in codes] == [403, 403, 403, 429]
    assert int(codes[-1].headers["Retry-After"]) >= 1
    assert "rate limit" in codes[-1].json()["detail"]
