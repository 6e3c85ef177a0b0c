"""The bureau service: HTTP API, accounts, consent, the hash-chained access log, publishing.

``create_app(Settings(...))`` builds the FastAPI app (migrating the database to head);
``publish`` loads a scores file as a new version atomically; ``replay`` re-scores a
published score bit for bit; ``verify_chain`` checks the access log.

Names load on first use (PEP 562): a batch job that only needs ``service.settings`` or
``service.db`` (a re-scoring run finding its database) does not import FastAPI and the
whole app (~4 s of a one-minute job).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from openbureau._lazy import lazy_exports

if TYPE_CHECKING:
    from openbureau.service.app import build_service, create_app
    from openbureau.service.audit import ChainReport, verify_chain
    from openbureau.service.publish import PublishError, PublishReport, publish
    from openbureau.service.replay import ReplayError, ReplayResult, replay
    from openbureau.service.settings import Settings

_EXPORTS = {
    "build_service": "openbureau.service.app",
    "create_app": "openbureau.service.app",
    "ChainReport": "openbureau.service.audit",
    "verify_chain": "openbureau.service.audit",
    "PublishError": "openbureau.service.publish",
    "PublishReport": "openbureau.service.publish",
    "publish": "openbureau.service.publish",
    "ReplayError": "openbureau.service.replay",
    "ReplayResult": "openbureau.service.replay",
    "replay": "openbureau.service.replay",
    "Settings": "openbureau.service.settings",
}

__all__ = [
    "ChainReport",
    "PublishError",
    "PublishReport",
    "ReplayError",
    "ReplayResult",
    "Settings",
    "build_service",
    "create_app",
    "publish",
    "replay",
    "verify_chain",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
