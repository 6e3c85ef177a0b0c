"""Service settings, read once from arguments or the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SQLITE_FILE = "openbureau-service.db"


def default_database_url(store: Path | None = None) -> str:
    """``$DATABASE_URL``, else an SQLite file beside the store (or in the working folder)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    folder = store if store is not None else Path(".")
    return f"sqlite:///{(folder / DEFAULT_SQLITE_FILE).resolve()}"


@dataclass(frozen=True)
class Settings:
    """What one running service needs. ``admin_key`` None disables the admin endpoints."""

    database_url: str = field(default_factory=default_database_url)
    store: Path | None = None  # the event store, to build feature snapshots when publishing
    model: Path | None = None  # a model folder to fall back on when a version has none
    admin_key: str | None = field(default_factory=lambda: os.environ.get("OPENBUREAU_ADMIN_KEY"))
    policy: str | None = field(default_factory=lambda: os.environ.get("OPENBUREAU_POLICY"))
    session_hours: float = 12.0
    # per partner and process; 0 turns rate limiting off ($OPENBUREAU_LOOKUPS_PER_MINUTE)
    lookups_per_minute: int = field(
        default_factory=lambda: int(os.environ.get("OPENBUREAU_LOOKUPS_PER_MINUTE", "600"))
    )
    dispute_days: float = 30.0  # a dispute unresolved this long is resolved for the person
