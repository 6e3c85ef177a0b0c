"""``openbureau rescore``: a full or incremental re-score as a new run, optionally published.

Registered in the CLI with ``app.command(name="rescore")(rescore_command)``. Heavy
libraries are imported inside the function so ``openbureau --help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import typer

from openbureau.cliutil import StepBar, err, fail, parse_date, usage_errors


def rescore_command(
    model_dir: Path | None = typer.Option(
        None,
        "--model",
        help="Model folder from `train`. Default: the registry's champion (`openbureau models`) "
        "in the service database.",
    ),
    as_of: str = typer.Option(..., "--as-of", help="Score with events before this date."),
    runs_dir: Path = typer.Option(
        ..., "--runs", help="Runs folder: each run is written to RUNS/run-NNNN when complete."
    ),
    incremental: bool = typer.Option(
        False, "--incremental", help="Re-score only people whose inputs changed since the last run."
    ),
    full: bool = typer.Option(False, "--full", help="Re-score everyone (the scheduled run)."),
    store: Path | None = typer.Option(
        None, "--store", help="Store folder (default: $OPENBUREAU_STORE or ./openbureau-data)."
    ),
    policy: str | None = typer.Option(
        None,
        "--policy",
        help="Jurisdiction policy pack (name or YAML). Default: the pack the model was trained "
        "under.",
    ),
    publish: bool = typer.Option(
        False, "--publish", help="Publish the run as a new score version once it is complete."
    ),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        help="Service database for --publish (default: $DATABASE_URL, else the SQLite file "
        "beside the store).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Re-score the store as a new run: --full (everyone) or --incremental (only the people
    with new rows or moved network features since the last run; equal to a full run)."""
    from rich.console import Console

    if incremental == full:
        raise fail("give exactly one of --incremental and --full")
    day = parse_date(as_of, "--as-of")
    if database_url is not None and not publish and model_dir is not None:
        raise fail("--database-url is only used with --publish or without --model")
    from openbureau.service.settings import default_database_url
    from openbureau.workflow.rescore import rescore

    url = (database_url or default_database_url(store)) if publish else None
    if model_dir is None:
        model_dir = _champion_folder(database_url or default_database_url(store))
    with usage_errors(), StepBar(enabled=not as_json) as tick:
        report = rescore(
            store,
            model_dir,
            day,
            runs_dir,
            mode="incremental" if incremental else "full",
            policy=policy,
            database_url=url,
            progress=tick,
        )
    if as_json:
        payload = dataclasses.asdict(report)
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
    else:
        Console().print(str(report), soft_wrap=True)


def _champion_folder(database_url: str) -> Path:
    """The champion's model folder from the registry: the service scores with the champion,
    so a scheduled re-scoring does too unless told otherwise."""
    from openbureau.registry import champion
    from openbureau.service.db import make_engine, session_factory

    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as s:
            found = champion(s)
            path = None if found is None else Path(found.artifact_path)
            model_id = None if found is None else found.model_id
    except Exception as exc:  # an unreachable or unmigrated database: say which
        raise fail(f"cannot read the registry in {database_url}: {exc}") from None
    finally:
        engine.dispose()
    if path is None:
        raise fail(
            f"no --model and no champion in the registry at {database_url}: "
            "promote one (`openbureau models promote`) or name a model folder"
        )
    err.print(f"scoring with the champion {model_id} ({path})")
    return path
