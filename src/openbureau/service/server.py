"""Run the service with uvicorn, and the operations behind `openbureau serve` and `audit`."""

from __future__ import annotations

from pathlib import Path

from openbureau.service.settings import Settings


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    scores: Path | None = None,
    log_level: str = "info",
) -> None:
    """Migrate, publish ``scores`` if it is not published yet, then serve until stopped."""
    import uvicorn

    from openbureau.service.app import create_app

    app = create_app(settings)
    if scores is not None:
        publish_once(app.state.service, scores)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


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
