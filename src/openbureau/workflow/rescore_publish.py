"""Publish a complete rescore run as a new score version of the bureau service.

The run's own ``features.parquet`` is the feature snapshot (the forbidden factors' columns
dropped, as scoring dropped them), so nothing is rebuilt from the store and every
published score can be replayed. A run whose scores file is byte for byte one already
published (an incremental run that found nothing to change) is not published twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from openbureau.workflow.rescore_runs import FEATURES_FILE, RUN_FILE, SCORES_FILE


def run_label(record: dict[str, Any]) -> str:
    """The version label: which run, which mode, which date."""
    return f"{record['run']} {record['mode']} as of {record['as_of']}"


def publish_run(run: Path, database_url: str, model_dir: Path) -> dict[str, Any]:
    """Publish ``run`` to the database at ``database_url`` (migrated first); the version's
    id, label and a one-line message."""
    from sqlalchemy import select

    from openbureau.features import feature_specs
    from openbureau.policy import drop_forbidden_columns
    from openbureau.service.db import make_engine, migrate, session_factory
    from openbureau.service.models import ScoreVersion
    from openbureau.service.publish import file_sha256, publish, scoring_pack_for

    run = Path(run)
    record = json.loads((run / RUN_FILE).read_text(encoding="utf-8"))
    label = run_label(record)
    engine = make_engine(database_url)
    try:
        migrate(engine)
        sessions = session_factory(engine)
        scores = run / SCORES_FILE
        digest = file_sha256(scores)
        with sessions() as s:
            existing = s.scalar(select(ScoreVersion.id).where(ScoreVersion.source_sha256 == digest))
        if existing is not None:
            return {
                "version": existing,
                "label": label,
                "new": False,
                "message": f"{run.name}'s scores are already published as version {existing}: "
                "nothing changed, no new version",
            }
        pack = scoring_pack_for(record["policy"], record["policy_digest"], model_dir)
        features = drop_forbidden_columns(
            pq.read_table(run / FEATURES_FILE), {s.name: s.factor for s in feature_specs()}, pack
        )
        report = publish(sessions, scores, model_dir=model_dir, features=features, label=label)
    finally:
        engine.dispose()
    return {
        "version": report.version_id,
        "label": label,
        "new": True,
        "message": str(report),
    }
