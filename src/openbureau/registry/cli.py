"""``openbureau models register|list|show|promote|retire``: the registry from the terminal.

Refusals (a failing release report, a stale champion, an unknown model) exit 1 with the
reason on stderr; usage errors exit 2; ``--json`` prints one JSON object on stdout.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="The model registry: register trained models, promote a champion on a passing "
    "release report, retire candidates.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)

DATABASE_URL = typer.Option(
    None,
    "--database-url",
    help="SQLAlchemy URL (default: $DATABASE_URL, else the SQLite file beside the store).",
)
STORE = typer.Option(
    None,
    "--store",
    help="Store folder; promotion rebuilds the published scores' feature snapshots from it "
    "(default: $OPENBUREAU_STORE or ./openbureau-data, when it exists).",
)
JSON = typer.Option(False, "--json", help="Print one JSON object on stdout.")
ACTOR = typer.Option(None, "--actor", help="Who makes the change (default: your user name).")


@contextmanager
def _sessions(database_url: str | None, store: Path | None) -> Iterator[Any]:
    """Sessions on the service database, migrated to head (so a fresh one just works)."""
    from openbureau.service.db import make_engine, migrate, session_factory
    from openbureau.service.settings import default_database_url

    engine = make_engine(database_url or default_database_url(store))
    try:
        migrate(engine)
        yield session_factory(engine)
    finally:
        engine.dispose()


@contextmanager
def _refusals() -> Iterator[None]:
    from openbureau.registry.errors import RegistryError

    try:
        yield
    except RegistryError as exc:
        err.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(1) from None
    except (TypeError, ValueError, FileNotFoundError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _actor(actor: str | None) -> str:
    return actor or getpass.getuser()


def model_record(row: Any) -> dict[str, Any]:
    """A registered model as plain JSON-ready data (the card left out: ``show`` adds it)."""
    return {
        "model_id": row.model_id,
        "state": row.state,
        "artifact_path": row.artifact_path,
        "kind": row.kind,
        "catalog_version": row.catalog_version,
        "data_hash": row.data_hash,
        "policy": row.policy,
        "policy_digest": row.policy_digest,
        "metrics": row.metrics,
        "registered_at": row.registered_at.isoformat(),
        "state_changed_at": row.state_changed_at.isoformat(),
    }


def event_record(e: Any) -> dict[str, Any]:
    return {
        "id": e.id,
        "model_id": e.model_id,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "from_state": e.from_state,
        "to_state": e.to_state,
        "reason": e.reason,
        "release_sha256": e.release_sha256,
        "release_path": e.release_path,
        "score_version_id": e.score_version_id,
    }


def _print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def _fmt(v: Any) -> str:
    return "n/a" if v is None else f"{v:.4f}"


def _models_table(rows: list[Any]) -> Table:
    table = Table(title="registered models")
    table.add_column("model", no_wrap=True, min_width=16)
    for col in ("state", "hold-out AUC", "KS", "policy", "data hash", "registered"):
        table.add_column(col)
    colour = {"champion": "green", "candidate": "yellow", "retired": "dim"}
    for r in rows:
        table.add_row(
            r.model_id,
            f"[{colour[r.state]}]{r.state}[/{colour[r.state]}]",
            _fmt(r.metrics.get("holdout_auc")),
            _fmt(r.metrics.get("holdout_ks")),
            f"{r.policy} {r.policy_digest}",
            r.data_hash[:12],
            r.registered_at.strftime("%Y-%m-%d %H:%M"),
        )
    return table


def _events_table(events: list[Any]) -> Table:
    table = Table(title="state changes")
    table.add_column("when")
    table.add_column("model", no_wrap=True, min_width=16)
    for col in ("change", "who", "why", "release report"):
        table.add_column(col)
    for e in events:
        table.add_row(
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            e.model_id,
            f"{e.from_state or '-'} -> {e.to_state}",
            e.actor,
            e.reason,
            (e.release_sha256 or "")[:16],
        )
    return table


@app.command("register")
def register_command(
    model_dir: Path = typer.Argument(..., help="A model folder written by `openbureau train`."),
    reason: str = typer.Option("registered", "--reason", help="Why (kept in the log)."),
    actor: str | None = ACTOR,
    database_url: str | None = DATABASE_URL,
    store: Path | None = STORE,
    as_json: bool = JSON,
) -> None:
    """Register a trained model folder as a candidate."""
    from openbureau.registry.core import register

    with _refusals(), _sessions(database_url, store) as sessions:
        row = register(sessions, model_dir, actor=_actor(actor), reason=reason)
    if as_json:
        _print_json(model_record(row))
        return
    out.print(
        f"registered model [bold]{row.model_id}[/bold] as candidate: hold-out AUC "
        f"{_fmt(row.metrics['holdout_auc'])}, KS {_fmt(row.metrics['holdout_ks'])}, "
        f"policy {row.policy} {row.policy_digest}"
    )


@app.command("list")
def list_command(
    database_url: str | None = DATABASE_URL,
    store: Path | None = STORE,
    as_json: bool = JSON,
) -> None:
    """List registered models and say which is champion."""
    from openbureau.registry.core import champion, list_models

    with _refusals(), _sessions(database_url, store) as sessions, sessions() as s:
        rows = list_models(s)
        current = champion(s)
    champion_id = current.model_id if current is not None else None
    if as_json:
        _print_json({"champion": champion_id, "models": [model_record(r) for r in rows]})
        return
    out.print(_models_table(rows))
    out.print(f"champion: [bold]{champion_id or 'none yet'}[/bold]")


@app.command("show")
def show_command(
    model_id: str = typer.Argument(..., help="A registered model id."),
    database_url: str | None = DATABASE_URL,
    store: Path | None = STORE,
    as_json: bool = JSON,
) -> None:
    """Show one model: where it is, what it was trained on, its metrics and state changes."""
    from openbureau.registry.core import get_model, model_events

    with _refusals(), _sessions(database_url, store) as sessions, sessions() as s:
        row = get_model(s, model_id)
        events = model_events(s, model_id)
    if as_json:
        _print_json(
            {**model_record(row), "card": row.card, "events": [event_record(e) for e in events]}
        )
        return
    out.print(_models_table([row]))
    out.print(f"artifact: {row.artifact_path}")
    out.print(f"data hash: {row.data_hash}")
    out.print(f"intended use: {row.card.get('intended_use', 'n/a')}")
    out.print(_events_table(events))


def _snapshot_store(store: Path | None) -> Path | None:
    from openbureau.store.database import resolve_store

    folder = resolve_store(store)
    if store is not None and not folder.is_dir():
        raise FileNotFoundError(f"store folder {folder} does not exist")
    return folder if folder.is_dir() else None


@app.command("promote")
def promote_command(
    model_id: str = typer.Argument(..., help="The candidate to make champion."),
    release: Path = typer.Option(
        ..., "--release", help="The release report (release.json or its folder)."
    ),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the log)."),
    features: Path | None = typer.Option(
        None,
        "--features",
        help="Parquet file of the feature rows scored, instead of rebuilding them from the store.",
    ),
    actor: str | None = ACTOR,
    database_url: str | None = DATABASE_URL,
    store: Path | None = STORE,
    as_json: bool = JSON,
) -> None:
    """Make a candidate champion on a passing release report; its scores become the current
    version in the same transaction. There is no override."""
    from openbureau.registry.core import promote

    with _refusals():
        snapshots = None if features is not None else _snapshot_store(store)
        with _sessions(database_url, store) as sessions:
            done = promote(
                sessions,
                model_id,
                release,
                actor=_actor(actor),
                reason=reason,
                store=snapshots,
                features=features,
            )
    source = features or snapshots
    if as_json:
        _print_json({**done.__dict__, "snapshots_from": str(source) if source else None})
        return
    out.print(f"[green]promoted[/green]: {done}")
    if done.score_version_id is not None and source is None:
        err.print(
            "[yellow]note:[/yellow] no store was found, so the published scores carry no "
            "feature snapshots (no replay or disputes): pass --store next time"
        )


@app.command("retire")
def retire_command(
    model_id: str = typer.Argument(..., help="A candidate to retire."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the log)."),
    actor: str | None = ACTOR,
    database_url: str | None = DATABASE_URL,
    store: Path | None = STORE,
    as_json: bool = JSON,
) -> None:
    """Retire a candidate (the champion is only replaced, by promoting another model)."""
    from openbureau.registry.core import retire

    with _refusals(), _sessions(database_url, store) as sessions:
        row = retire(sessions, model_id, actor=_actor(actor), reason=reason)
    if as_json:
        _print_json(model_record(row))
        return
    out.print(f"model {row.model_id} is retired")


def champion_banner(database_url: str) -> str:
    """One line for ``openbureau serve``: the champion, and whether the current score version
    is its (a version published outside a promotion may be another model's)."""
    from sqlalchemy import select

    from openbureau.registry.core import champion
    from openbureau.service.models import CurrentVersion, ScoreVersion

    with _sessions(database_url, None) as sessions, sessions() as s:
        current = champion(s)
        version = s.scalar(
            select(ScoreVersion)
            .join(CurrentVersion, CurrentVersion.version_id == ScoreVersion.id)
            .where(CurrentVersion.name == "current")
        )
    if current is None:
        return "champion model: none registered yet (`openbureau models list`)"
    line = f"champion model: {current.model_id}"
    if version is None:
        return line + "; no score version is published yet"
    if version.model_id != current.model_id:
        return (
            line + f"; [yellow]but the current score version {version.id} was made by model "
            f"{version.model_id}[/yellow]"
        )
    return line + f"; current score version {version.id} is its scores"
