"""The service's commands, kept here so `cli.py` only wires them: `audit verify|replay`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console


def _sessions(database_url: str | None, store: Path | None) -> Any:
    from openbureau.service.db import make_engine, migrate, session_factory
    from openbureau.service.settings import default_database_url

    url = database_url or default_database_url(store)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        raise SystemExit(f"error: no service database at {url[len('sqlite:///') :]}")
    engine = make_engine(url)
    migrate(engine)
    return engine, session_factory(engine)


def verify(database_url: str | None, store: Path | None, as_json: bool, out: Console) -> int:
    """0 when the chain is intact, 1 when it is broken (the entry is named), 2 on no database."""
    from openbureau.service.audit import verify_chain

    try:
        engine, sessions = _sessions(database_url, store)
    except SystemExit as exc:
        Console(stderr=True).print(f"[red]{exc}[/red]")
        return 2
    with sessions() as s:
        report = verify_chain(s)
    engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps(report.__dict__) + "\n")
    else:
        out.print(("[green]" if report.ok else "[red]") + str(report))
    return 0 if report.ok else 1


def replay_command(
    person: str,
    version: int | None,
    model: Path | None,
    database_url: str | None,
    store: Path | None,
    as_json: bool,
    out: Console,
) -> int:
    from openbureau.service.replay import ReplayError, replay

    try:
        engine, sessions = _sessions(database_url, store)
    except SystemExit as exc:
        Console(stderr=True).print(f"[red]{exc}[/red]")
        return 2
    try:
        with sessions() as s:
            result = replay(s, person, version_id=version, model_dir=model)
    except ReplayError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        return 2
    finally:
        engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps(result.__dict__, default=str) + "\n")
    elif result.identical:
        out.print(
            f"[green]identical[/green]: person {person} version {result.version_id} "
            f"score {result.replayed['score']} with model {result.model_id}"
        )
    else:
        out.print(f"[red]DIFFERENT[/red]: person {person} version {result.version_id}")
        for d in result.differences:
            out.print(f"  {d}")
    return 0 if result.identical else 1
