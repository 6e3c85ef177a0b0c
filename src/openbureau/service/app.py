"""The FastAPI application: ``create_app(Settings(...))``; OpenAPI at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openbureau import __version__
from openbureau.benefits import DEFAULT_OFFERS
from openbureau.service.audit import AuditWriter
from openbureau.service.db import make_engine, migrate, session_factory
from openbureau.service.deps import Service
from openbureau.service.fastpath import PartnerLookupFastPath
from openbureau.service.models import OfferRow
from openbureau.service.pgasync import AsyncPostgres
from openbureau.service.ratelimit import RateLimiter
from openbureau.service.replay import ModelCache
from openbureau.service.routes import admin, auth, me, partner, rights
from openbureau.service.schemas import ERRORS
from openbureau.service.settings import Settings

# partner reads: one statement each, so a few threads and connections keep up with many
# requests; autocommit saves the BEGIN and ROLLBACK round trips of a read-only statement
READ_THREADS = 8
READER_ENGINE = {"isolation_level": "AUTOCOMMIT", "pool_pre_ping": False}


def seed_offers(sessions: sessionmaker[Session]) -> None:
    """The default benefit tiers, added once (an admin may add more; none is overwritten)."""
    with sessions.begin() as s:
        have = set(s.scalars(select(OfferRow.code)))
        for o in DEFAULT_OFFERS:
            if o.code not in have:
                s.add(
                    OfferRow(
                        code=o.code,
                        title=o.title,
                        description=o.description,
                        min_score=o.min_score,
                        purpose=o.purpose,
                        active=True,
                    )
                )


def build_service(settings: Settings, workers: int = 1) -> Service:
    """Connect, migrate to head, seed offers: ready to serve (as one of ``workers``
    processes, which share the rate limit)."""
    from openbureau.policy import load_pack

    engine = make_engine(settings.database_url)
    migrate(engine)
    sessions = session_factory(engine)
    seed_offers(sessions)
    pg = AsyncPostgres(engine) if engine.dialect.name == "postgresql" else None
    return Service(
        settings=settings,
        engine=engine,
        sessions=sessions,
        models=ModelCache(),
        pack=load_pack(settings.policy),
        limiter=RateLimiter.share(settings.lookups_per_minute, workers),
        # SQLite: a writer thread with its own engine (requests waiting for their entry hold
        # their pooled connections, and the writer must never wait behind them for one)
        audit=pg
        or AuditWriter(
            session_factory(make_engine(settings.database_url, pool_size=2, max_overflow=0))
        ),
        reader=make_engine(settings.database_url, **READER_ENGINE),
        read_pool=ThreadPoolExecutor(READ_THREADS, thread_name_prefix="openbureau-read"),
        pg=pg,
    )


def close_threads(svc: Service) -> None:
    """Stop what the service runs outside the event loop and close its connections."""
    if isinstance(svc.audit, AuditWriter):
        svc.audit.close()
        svc.audit.sessions.kw["bind"].dispose()
    svc.read_pool.shutdown()
    svc.reader.dispose()
    svc.engine.dispose()


def create_app(settings: Settings | None = None, workers: int = 1) -> FastAPI:
    svc = build_service(settings or Settings(), workers)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if svc.pg is not None:
            await svc.pg.aclose()
        close_threads(svc)

    app = FastAPI(
        title="openbureau",
        version=__version__,
        summary="An open, explainable, consent-based credit bureau (350-950, five factors).",
        lifespan=lifespan,
    )
    app.state.service = svc
    # the busiest path answered ahead of FastAPI's routing and dependencies (service.fastpath)
    app.add_middleware(PartnerLookupFastPath, service=svc)
    for module in (auth, me, rights, partner, admin):
        app.include_router(module.router, responses=ERRORS)

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        """Liveness, with no database work (the benchmark's bare endpoint)."""
        return {"status": "ok"}

    @app.get("/purposes", tags=["meta"])
    def purposes() -> dict[str, dict[str, object]]:
        """The purposes a consent and a lookup may name, and which are permitted here."""
        from openbureau.service.purposes import PURPOSES, permitted_purposes

        allowed = permitted_purposes(svc.pack)
        return {
            name: {"description": text, "permitted": name in allowed}
            for name, text in PURPOSES.items()
        }

    from openbureau.web import mount  # the pages people use (openbureau/web)

    mount(app)
    return app
