"""The bureau service: HTTP API, accounts, consent, the hash-chained access log, publishing.

``create_app(Settings(...))`` builds the FastAPI app (migrating the database to head);
``publish`` loads a scores file as a new version atomically; ``replay`` re-scores a
published score bit for bit; ``verify_chain`` checks the access log.
"""

from openbureau.service.app import build_service, create_app
from openbureau.service.audit import ChainReport, verify_chain
from openbureau.service.publish import PublishError, PublishReport, publish
from openbureau.service.replay import ReplayError, ReplayResult, replay
from openbureau.service.settings import Settings

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
