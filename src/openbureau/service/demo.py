"""Serve the demo population: the end of `make demo`, so a person can look at their score.

The server starts in a thread, the demo accounts are created through the same admin API
a bureau would use (no back door into the database), and the credentials are printed;
then it serves until interrupted.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from openbureau.service.settings import Settings


@dataclass(frozen=True)
class DemoAccess:
    url: str
    admin_key: str
    person_id: str
    login: str
    password: str
    partner_key: str


def free_port(preferred: int) -> int:
    """``preferred`` if it is free on localhost, else any free port."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError("no free port on 127.0.0.1")


def start(
    workdir: Path, store: Path, model: Path, scores: Path, person_id: str, port: int = 8000
) -> tuple[DemoAccess, threading.Thread, object]:
    """Start serving the demo population; returns the access, the thread and the server."""
    import uvicorn

    from openbureau.service.app import create_app
    from openbureau.service.server import publish_once

    admin_key = secrets.token_urlsafe(18)
    (workdir / "service.db").unlink(missing_ok=True)  # a fresh population, fresh accounts
    settings = Settings(
        database_url=f"sqlite:///{(workdir / 'service.db').resolve()}",
        store=store,
        model=model,
        admin_key=admin_key,
    )
    app = create_app(settings)
    publish_once(app.state.service, scores)
    port = free_port(port)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the demo service did not start")
        time.sleep(0.05)
    admin = {"X-Admin-Key": admin_key}
    login, password = "demo", secrets.token_urlsafe(9)
    with httpx.Client(base_url=url, timeout=30) as c:
        r = c.post(
            "/admin/people",
            json={"person_id": person_id, "login": login, "password": password},
            headers=admin,
        )
        if r.status_code not in (201, 409):
            raise RuntimeError(f"creating the demo person failed: {r.status_code} {r.text}")
        r = c.post(
            "/admin/partners",
            json={"name": f"DemoRentals-{secrets.token_hex(2)}", "scopes": ["lookup", "decision"]},
            headers=admin,
        )
        if r.status_code != 201:
            raise RuntimeError(f"creating the demo partner failed: {r.status_code} {r.text}")
        partner_key = r.json()["api_key"]
    access = DemoAccess(url, admin_key, person_id, login, password, partner_key)
    return access, thread, server
