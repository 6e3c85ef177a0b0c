"""Run the service with uvicorn, and the operations behind `openbureau serve` and `audit`.

``workers`` (``openbureau serve --workers N``, else ``$OPENBUREAU_WORKERS``, default 1) runs
that many server processes on the port: each has its own connection pools, access-log
writer and an equal share of the rate limit. Their writers append to the one hash chain,
whose head row lock serialises them across processes. ``$OPENBUREAU_LOG_LEVEL`` sets
uvicorn's log level (``warning`` drops the per-request access log).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from openbureau.service.settings import Settings

_SETTINGS_ENV = "OPENBUREAU_SERVE_SETTINGS"
_WORKERS_ENV = "OPENBUREAU_SERVE_WORKERS"


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    scores: Path | None = None,
    log_level: str | None = None,
    workers: int | None = None,
) -> None:
    """Migrate, publish ``scores`` if it is not published yet, then serve until stopped."""
    import uvicorn

    from openbureau.service.app import close_threads, create_app

    workers = workers or int(os.environ.get("OPENBUREAU_WORKERS", "1"))
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    log_level = log_level or os.environ.get("OPENBUREAU_LOG_LEVEL", "info")
    app = create_app(settings)  # migrates and seeds once, before any worker starts
    if scores is not None:
        publish_once(app.state.service, scores)
    if workers <= 1:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
        return
    close_threads(app.state.service)  # the parent serves nothing: each worker has its own
    os.environ[_SETTINGS_ENV] = json.dumps(dataclasses.asdict(settings), default=str)
    os.environ[_WORKERS_ENV] = str(workers)
    uvicorn.run(
        "openbureau.service.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )


def app_from_env() -> Any:
    """The app of one worker process, from the settings its parent put in the environment."""
    from openbureau.service.app import create_app

    raw = json.loads(os.environ[_SETTINGS_ENV])
    for name in ("store", "model"):
        raw[name] = Path(raw[name]) if raw[name] else None
    return create_app(Settings(**raw), workers=int(os.environ.get(_WORKERS_ENV, "1")))


def publish_once(svc: object, scores: Path) -> str:
    """Publish ``scores`` unless a version with the same content exists; say which."""
    from sqlalchemy import select

    from openbureau.service.models import ScoreVersion
    from openbureau.service.publish import file_sha256, publish

    digest = file_sha256(Path(scores))
    with svc.sessions() as s:  # type: ignore[attr-defined]
        existing = s.scalar(select(ScoreVersion.id).where(ScoreVersion.source_sha256 == digest))
    if existing is not None:
        return f"{scores} is already published as version {existing}"
    settings: Settings = svc.settings  # type: ignore[attr-defined]
    report = publish(
        svc.sessions,  # type: ignore[attr-defined]
        Path(scores),
        model_dir=settings.model,
        store=settings.store,
    )
    return str(report)
