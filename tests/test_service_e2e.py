"""End to end over real HTTP: uvicorn in a thread on a free port, httpx as the client."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time

import httpx
import pytest
import uvicorn

from conftest_service import bureau_data, database_url  # noqa: F401
from openbureau.service import Settings, create_app

ADMIN = {"X-Admin-Key": "e2e-admin"}


@pytest.fixture(scope="module")
def base_url(database_url):  # noqa: F811
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(Settings(database_url=database_url, admin_key="e2e-admin"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_a_consented_lookup_over_http(base_url, bureau_data):  # noqa: F811
    person = bureau_data.people[0]
    with httpx.Client(base_url=base_url, timeout=30) as c:
        assert c.get("/health").json() == {"status": "ok"}
        assert "/partner/lookup" in c.get("/openapi.json").json()["paths"]
        r = c.post(
            "/admin/score-versions",
            json={
                "scores": str(bureau_data.scores),
                "model": str(bureau_data.model),
                "store": str(bureau_data.store),
            },
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        c.post(
            "/admin/people",
            json={"person_id": person, "login": "e2e", "password": "e2e-pass-1"},
            headers=ADMIN,
        ).raise_for_status()
        key = c.post("/admin/partners", json={"name": "Bank"}, headers=ADMIN).json()["api_key"]
        token = c.post("/auth/login", json={"login": "e2e", "password": "e2e-pass-1"}).json()
        me = {"Authorization": f"Bearer {token['token']}"}
        expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
        c.post(
            "/me/consents",
            json={
                "partner": "Bank",
                "purpose": "credit_application",
                "expires_at": expires,
                "share_number": True,
            },
            headers=me,
        ).raise_for_status()
        r = c.post(
            "/partner/lookup",
            json={"person": person, "purpose": "credit_application", "threshold": 600},
            headers={"X-API-Key": key},
        )
        assert r.status_code == 200, r.text
        mine = c.get("/me/score", headers=me).json()
        assert r.json()["score"] == mine["score"]
        assert r.json()["meets_threshold"] is (mine["score"] >= 600)
        log = c.get("/me/access-log", headers=me).json()
        assert [(e["partner"], e["outcome"]) for e in log] == [("Bank", "granted")]
