"""The one command line: ``openbureau simulate | ingest | status | contract | demo``.

Human output goes to the terminal through Rich (progress bars on stderr); ``--json``
prints one JSON object on stdout and nothing else, for scripts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table as RichTable

from openbureau import __version__
from openbureau.cliutil import USAGE_ERRORS, parse_date, progress_bar, usage_errors

app = typer.Typer(
    name="openbureau",
    help="openbureau: an open, explainable, consent-based credit bureau (350-950, five factors).",
    no_args_is_help=True,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)

STORE_OPTION = typer.Option(
    None, "--store", help="Store folder (default: $OPENBUREAU_STORE or ./openbureau-data)."
)
JSON_OPTION = typer.Option(False, "--json", help="Print one JSON object on stdout.")
POLICY_HELP = (
    "Jurisdiction policy pack: a shipped name (see `openbureau policy list`) or a YAML path."
)


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress]:
    with progress_bar(enabled, err) as progress:
        yield progress


def _print_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def _usage_errors() -> AbstractContextManager[None]:
    return usage_errors(USAGE_ERRORS, err)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


@app.command()
def simulate(
    people: int = typer.Option(10_000, "--people", "-n", help="Number of people."),
    months: int = typer.Option(24, "--months", "-m", help="Months of history."),
    seed: int = typer.Option(0, "--seed", "-s", help="Random seed; same seed, same data."),
    output: Path = typer.Option(Path("sim-data"), "--out", "-o", help="Output folder."),
    chunk_size: int = typer.Option(50_000, "--chunk-size", help="People per chunk (memory)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier simulation."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Simulate a population and write every contract table as Parquet."""
    from openbureau.sim import simulate as run_simulation

    with _progress(not as_json) as progress:
        task = progress.add_task("simulating people", total=people)
        try:
            report = run_simulation(
                output,
                people=people,
                months=months,
                seed=seed,
                chunk_size=chunk_size,
                overwrite=overwrite,
                progress=lambda done: progress.update(task, completed=done),
            )
        except (TypeError, ValueError, FileExistsError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    if as_json:
        _print_json(dataclasses.asdict(report))
    else:
        out.print(str(report))


def _ingest_table(report: Any) -> RichTable:
    table = RichTable(title="files", show_lines=False)
    for col in ("file", "table", "status", "read", "accepted", "quarantined"):
        table.add_column(
            col, justify="right" if col in ("read", "accepted", "quarantined") else "left"
        )
    style = {"ingested": "green", "rejected": "red", "skipped": "dim"}
    for f in report.files:
        status = f.status
        if f.status == "skipped":
            status = f"skipped (same content as batch {f.already_in_batch})"
        elif f.status == "ingested" and f.quarantined:
            style_status = "yellow"
            status = f"[{style_status}]ingested[/{style_status}]"
        table.add_row(
            f.path,
            f.table or "?",
            f"[{style.get(f.status, '')}]{status}[/]",
            f"{f.read:,}",
            f"{f.accepted:,}",
            f"{f.quarantined:,}",
        )
    return table


def print_ingest_report(report: Any) -> None:
    """A person's view of an ingest: files, the accounting, reasons, examples, refusals."""
    if len(report.files) <= 40:
        out.print(_ingest_table(report))
    out.print(
        f"[bold]read {report.read:,} = accepted {report.accepted:,} + quarantined "
        f"{report.quarantined:,}[/bold]  ({len(report.files)} files, {report.seconds:.1f}s, "
        + (f"batch {report.batch_id})" if report.batch_id else "no-op: nothing new)")
    )
    if report.reasons:
        reasons = RichTable(title="quarantined rows by reason")
        reasons.add_column("reason")
        reasons.add_column("rows", justify="right")
        for reason, n in report.reasons.items():
            reasons.add_row(reason, f"{n:,}")
        out.print(reasons)
        examples = RichTable(title="examples")
        for col in ("file", "row", "field", "reason", "message"):
            examples.add_column(col)
        for e in report.examples:
            examples.add_row(
                e["source_file"], str(e["row"]), e["field"] or "", e["reason"], e["message"]
            )
        out.print(examples)
    for f in report.rejected_files:
        out.print(f"[red]refused[/red] {f.path}: [bold]{f.error_code}[/bold]: {f.error_message}")


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files or folders (CSV, Parquet, JSON Lines)."),
    store: Path | None = STORE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Ingest files as one atomic batch; every row is accepted or quarantined with a reason.

    Exit code 0 when every row was accepted, 1 when rows were quarantined or files
    refused (the rest is stored), 2 on a usage error.
    """
    from openbureau.ingest import ingest as run_ingest
    from openbureau.store import Store

    with Store(store) as db, _progress(not as_json) as progress:
        task = progress.add_task("ingesting files", total=None)

        def on_file(path: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            report = run_ingest(paths, db, progress=on_file)
        except FileNotFoundError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    if as_json:
        _print_json(report.to_dict())
    else:
        print_ingest_report(report)
    if not report.clean:
        raise typer.Exit(1)


@app.command()
def status(store: Path | None = STORE_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Show what the store holds: rows per table, batches, quarantine, refused files."""
    from openbureau.store import Store, store_status

    try:
        db = Store(store, read_only=True)
    except FileNotFoundError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    with db:
        summary = store_status(db)
    if as_json:
        _print_json(summary)
        return
    tables = RichTable(title=f"store {summary['store']}")
    tables.add_column("table")
    tables.add_column("rows", justify="right")
    for name, n in summary["tables"].items():
        tables.add_row(name, f"{n:,}")
    out.print(tables)
    t = summary["totals"]
    out.print(
        f"{t['batches']} batches: read {t['read']:,} = accepted {t['accepted']:,} + "
        f"quarantined {t['quarantined']:,}"
    )
    for r in summary["quarantine"]["by_reason"]:
        out.print(f"  quarantined {r['rows']:,} rows of {r['table']}: {r['reason']}")
    for f in summary["rejected_files"]:
        out.print(
            f"  [red]refused[/red] {f['path']} (batch {f['batch_id']}): "
            f"{f['error_code']}: {f['error_message']}"
        )


@app.command()
def quarantine(
    store: Path | None = STORE_OPTION,
    batch: int | None = typer.Option(None, "--batch", help="Only this batch."),
    table: str | None = typer.Option(None, "--table", help="Only this contract table."),
    reason: str | None = typer.Option(None, "--reason", help="Only this reason code."),
    limit: int = typer.Option(20, "--limit", help="Rows to show (export writes all)."),
    export: Path | None = typer.Option(
        None,
        "--export",
        help="Write the matching rows' raw values as JSON Lines, to fix and "
        "ingest again (file name it after the table).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """List quarantined rows with every reason, or export them to fix and re-ingest."""
    from openbureau.store import Store, quarantined_rows

    try:
        db = Store(store, read_only=True)
    except FileNotFoundError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    with db:
        rows = quarantined_rows(
            db, batch=batch, table=table, reason=reason, limit=None if export else limit
        )
    if export:
        export.parent.mkdir(parents=True, exist_ok=True)
        with export.open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r["raw"], default=str) + "\n")
        err.print(f"wrote {len(rows):,} quarantined rows to {export}")
        return
    if as_json:
        _print_json({"rows": rows})
        return
    listing = RichTable(title=f"quarantined rows (first {limit})")
    for col in ("batch", "file", "row", "reason", "errors"):
        listing.add_column(col)
    for r in rows:
        listing.add_row(
            str(r["batch_id"]),
            r["source_file"],
            str(r["row"]),
            r["reason"],
            "\n".join(e["message"] for e in r["errors"]),
        )
    out.print(listing)


@app.command()
def contract(
    markdown: bool = typer.Option(False, "--markdown", help="Print docs/data-contract.md."),
) -> None:
    """Show the data contract: tables, fields and rules."""
    from openbureau.contract.docs import contract_markdown

    if markdown:
        sys.stdout.write(contract_markdown())
        return
    from openbureau.contract import TABLES

    for t in TABLES:
        table = RichTable(title=f"{t.name} ({t.factor}) key: {', '.join(t.key)}")
        for col in ("field", "type", "required", "rule"):
            table.add_column(col)
        for f in t.fields:
            from openbureau.contract.docs import field_rule

            table.add_row(f.name, f.kind, "yes" if f.required else "", field_rule(f))
        out.print(table)


def _as_of(value: str) -> dt.date:
    return parse_date(value, "--as-of")


@app.command()
def train(
    as_of: str = typer.Option(..., "--as-of", help="Features before this date, labels after."),
    model_dir: Path = typer.Option(..., "--out", help="Model folder to write."),
    store: Path | None = STORE_OPTION,
    horizon: int = typer.Option(12, "--horizon", help="Label window in months."),
    holdout: float = typer.Option(0.2, "--holdout", help="Share held out for evaluation."),
    seed: int = typer.Option(0, "--seed"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing model."),
    policy: str | None = typer.Option(None, "--policy", help=POLICY_HELP + " Default: us."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Train the five-factor model on the store and write a versioned model folder.

    Features of the factors the policy pack forbids are dropped before fitting; the pack
    and what it dropped are printed and saved with the model.
    """
    from openbureau.workflow import train_from_store

    with _usage_errors():
        report = train_from_store(
            store,
            _as_of(as_of),
            model_dir,
            horizon_months=horizon,
            holdout=holdout,
            seed=seed,
            overwrite=overwrite,
            policy=policy,
        )
    if as_json:
        _print_json(dataclasses.asdict(report))
    else:
        out.print(str(report))


ENGINES = ("duckdb", "spark")


def _spark_conf(values: list[str]) -> dict[str, str]:
    conf = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--conf {item!r} is not KEY=VALUE (e.g. spark.executor.memory=8g)")
        conf[key.strip()] = value.strip()
    return conf


@app.command()
def score(
    model_dir: Path = typer.Option(..., "--model", help="Model folder from `train`."),
    as_of: str = typer.Option(..., "--as-of", help="Score with events before this date."),
    output: str = typer.Option(
        ...,
        "--out",
        help="Parquet file to write (duckdb); a Parquet folder, any Spark path (spark).",
    ),
    store: Path | None = STORE_OPTION,
    policy: str | None = typer.Option(
        None, "--policy", help=POLICY_HELP + " Default: the pack the model was trained under."
    ),
    engine: str = typer.Option(
        "duckdb", "--engine", help="duckdb (the embedded store) or spark (docs/spark.md)."
    ),
    master: str | None = typer.Option(
        None, "--master", help="[spark] Spark master. Default: spark-submit's, else local[2]."
    ),
    tables: str | None = typer.Option(
        None,
        "--tables",
        help="[spark] Contract tables as Parquet, <DIR>/<table>/part-*.parquet (as `simulate` "
        "writes), on any path Spark reads (hdfs://, s3a://). Default: export the store.",
    ),
    conf: list[str] = typer.Option(
        [], "--conf", help="[spark] KEY=VALUE Spark setting; repeat for more."
    ),
    partitions: int | None = typer.Option(
        None, "--partitions", help="[spark] Part files to write (default: shuffle partitions)."
    ),
    merged: Path | None = typer.Option(
        None, "--merged", help="[spark] Also write one Parquet file, for `serve --scores`."
    ),
    checkpoint_dir: str | None = typer.Option(
        None,
        "--checkpoint-dir",
        help="[spark] Reliable checkpoints of the network walk here (a cluster: HDFS, S3).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Score everyone in the store: score, factor sub-scores, reasons, model and input hash.

    With --engine spark the same rows are computed on Spark and written as a folder of
    Parquet part files (each person in one file, sorted by person_id). A model that uses
    a factor the policy pack forbids is refused (exit code 2).
    """
    with _usage_errors():
        if engine not in ENGINES:
            raise ValueError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        spark_only = {
            "--master": master,
            "--tables": tables,
            "--conf": conf or None,
            "--partitions": partitions,
            "--merged": merged,
            "--checkpoint-dir": checkpoint_dir,
        }
        given = [name for name, value in spark_only.items() if value is not None]
        if engine == "duckdb" and given:
            raise ValueError(f"{', '.join(given)} only apply with --engine spark")
        if engine == "duckdb":
            from openbureau.workflow import score_store

            report: Any = score_store(store, model_dir, _as_of(as_of), Path(output), policy=policy)
        else:
            from openbureau.spark.job import SparkOutOfMemory, run
            from openbureau.spark.session import SparkUnavailable

            try:
                report = run(
                    model_dir,
                    _as_of(as_of),
                    output,
                    tables=tables,
                    store=store,
                    master=master,
                    conf=_spark_conf(conf),
                    policy=policy,
                    partitions=partitions,
                    merged=merged,
                    checkpoint_dir=checkpoint_dir,
                )
            except SparkUnavailable as exc:
                raise ValueError(f"the Spark engine cannot start: {exc}") from None
            except SparkOutOfMemory as exc:
                raise ValueError(str(exc)) from None
    if as_json:
        _print_json({"engine": engine, **dataclasses.asdict(report)})
    else:
        out.print(str(report))


@app.command()
def report(
    model_dir: Path = typer.Option(..., "--model", help="Model folder from `train`."),
    output: Path = typer.Option(Path("model-report.html"), "--out", help="HTML file to write."),
    scores: Path | None = typer.Option(
        None, "--scores", help="A scored population (from `score`) for distribution and PSI."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write the analyst's HTML report: ROC, KS, calibration, distribution, weights, PSI."""
    from openbureau.monitor.report import write_report

    with _usage_errors():
        numbers = write_report(model_dir, output, scores)
    if as_json:
        _print_json({"report": str(output), **numbers})
    else:
        out.print(f"wrote {output} (hold-out AUC {numbers['auc']:.4f}, KS {numbers['ks']:.4f})")


@app.command()
def demo(
    people: int = typer.Option(20_000, "--people", "-n", help="People to simulate."),
    months: int = typer.Option(24, "--months", "-m"),
    seed: int = typer.Option(7, "--seed"),
    workdir: Path = typer.Option(Path("demo-output"), "--dir", help="Where the demo writes."),
    policy: str | None = typer.Option(None, "--policy", help=POLICY_HELP + " Default: us."),
    serve_demo: bool = typer.Option(
        True, "--serve/--no-serve", help="End by serving the population on localhost."
    ),
    port: int = typer.Option(8000, "--port", help="Port to serve on (another if taken)."),
) -> None:
    """Simulate, ingest, train, score, report, then serve: the whole pipeline, then the pages."""
    if policy is not None:
        from openbureau.policy import load_pack

        with _usage_errors():
            load_pack(policy)  # a bad pack fails before minutes of simulation
    from openbureau.ingest import ingest as run_ingest
    from openbureau.sim import simulate as run_simulation
    from openbureau.store import Store, store_status

    sim_dir, store_dir = workdir / "sim", workdir / "store"
    out.rule("[bold]openbureau demo")
    out.print(f"1. simulating {people:,} people over {months} months (seed {seed}) -> {sim_dir}")
    with _progress(True) as progress:
        task = progress.add_task("simulating people", total=people)
        sim = run_simulation(
            sim_dir,
            people=people,
            months=months,
            seed=seed,
            overwrite=True,
            progress=lambda done: progress.update(task, completed=done),
        )
    out.print(str(sim))
    out.print(f"2. ingesting {sim_dir} into the store {store_dir}")
    with Store(store_dir) as db:
        with _progress(True) as progress:
            task = progress.add_task("ingesting files", total=None)
            report = run_ingest(
                [sim_dir], db, progress=lambda p, d, t: progress.update(task, completed=d, total=t)
            )
        print_ingest_report(report)
        out.print("3. ingesting the same files again (must be a no-op)")
        again = run_ingest([sim_dir], db)
        out.print(
            f"   {len(again.skipped_files)} of {len(again.files)} files skipped as "
            f"already ingested; batch written: {again.batch_id is not None}"
        )
        summary = store_status(db)
    out.print("4. the store now holds:")
    for name, n in summary["tables"].items():
        out.print(f"   {name:<24} {n:>12,}")
    if not report.clean:
        raise typer.Exit(1)

    from openbureau.monitor.report import write_report
    from openbureau.workflow import score_store, train_from_store

    model_dir, scores_file = workdir / "model", workdir / "scores.parquet"
    report_file = workdir / "model-report.html"
    train_as_of = dt.date.fromisoformat(
        json.loads((sim_dir / "_manifest.json").read_text())["window"]["as_of"]
    )
    score_as_of = train_as_of.replace(year=train_as_of.year + 1)
    out.print(f"5. training the five-factor model as of {train_as_of} -> {model_dir}")
    with _progress(True) as progress:
        progress.add_task("training", total=None)
        trained = train_from_store(store_dir, train_as_of, model_dir, overwrite=True, policy=policy)
    out.print(str(trained))
    out.print(
        f"   the simulator's oracle (the true default probabilities) reaches AUC "
        f"{sim.oracle_auc:.4f} on everyone; the model's hold-out AUC is "
        f"{trained.holdout_auc:.4f} (a small hold-out makes the difference noisy)"
    )
    out.print(f"6. scoring everyone as of {score_as_of} -> {scores_file}")
    scored = score_store(store_dir, model_dir, score_as_of, scores_file)
    out.print(str(scored))
    shown = _print_score_summary(scores_file)
    numbers = write_report(model_dir, report_file, scores_file)
    out.print(
        f"7. model report (ROC, KS, calibration, distribution, factor weights, PSI): "
        f"[bold]{report_file}[/bold]  (score PSI {numbers['psi'].get('score', float('nan')):.3f})"
    )
    out.print(f"\nstore: {store_dir}   inspect with: openbureau status --store {store_dir}")
    if serve_demo:
        _serve_demo(workdir, store_dir, model_dir, scores_file, shown, port)


def _serve_demo(
    workdir: Path, store: Path, model: Path, scores: Path, person_id: str, port: int
) -> None:
    """8. serve the population until Ctrl-C, with the demo accounts printed."""
    from openbureau.service.demo import start

    out.print("8. serving the demo population (Ctrl-C stops it)")
    with _usage_errors():
        access, thread, server = start(workdir, store, model, scores, person_id, port)
    out.print(
        f"   [bold]{access.url}/[/bold]  sign in as [bold]{access.login}[/bold] / "
        f"[bold]{access.password}[/bold] (person {access.person_id})\n"
        f"   partner console {access.url}/partner  API key {access.partner_key}\n"
        f"   analyst report  {access.url}/analyst  admin key {access.admin_key}\n"
        f"   API docs        {access.url}/docs"
    )
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        server.should_exit = True  # type: ignore[attr-defined]
        thread.join(10)


def _print_score_summary(scores_file: Path) -> str:
    """Score bands and one person's breakdown, as a person would see it; their id."""
    import numpy as np
    import pyarrow.parquet as pq

    table = pq.read_table(scores_file)
    scores = table.column("score").to_numpy()
    bands = RichTable(title="people per score band")
    bands.add_column("band")
    bands.add_column("people", justify="right")
    bands.add_column("share", justify="right")
    edges = [350, 550, 600, 650, 700, 750, 951]
    counts = np.histogram(scores, bins=edges)[0]
    for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True):
        bands.add_row(f"{lo}-{min(hi, 950) - (hi <= 950)}", f"{n:,}", f"{n / len(scores):.1%}")
    out.print(bands)
    row = table.slice(int(np.argsort(scores)[len(scores) // 4]), 1).to_pylist()[0]
    out.print(f"   person {row['person_id']}: score {row['score']:.0f} ({row['segment']} file)")
    for factor in ("history", "behavior", "capacity", "identity", "network"):
        out.print(f"     {factor:<9} {row[f'points_{factor}']:>7.1f} points")
    for k in range(1, 5):
        if row.get(f"reason_{k}"):
            out.print(
                f"     reason {k}: {row[f'reason_{k}_text']} (-{row[f'reason_{k}_points']:.0f})"
            )
    return str(row["person_id"])


policy_app = typer.Typer(
    help="Jurisdiction policy packs: which factors a score may use and the rules around it.",
    no_args_is_help=True,
)
app.add_typer(policy_app, name="policy")


@policy_app.command("list")
def policy_list(as_json: bool = JSON_OPTION) -> None:
    """List the shipped policy packs."""
    from openbureau.policy import DEFAULT_PACK, available_packs, load_pack

    packs = [load_pack(name) for name in available_packs()]
    if as_json:
        _print_json(
            {
                "default": DEFAULT_PACK,
                "packs": [
                    {
                        "name": p.name,
                        "version": p.version,
                        "digest": p.digest,
                        "jurisdiction": p.jurisdiction,
                        "allowed_factors": list(p.allowed_factors),
                        "summary": p.summary,
                    }
                    for p in packs
                ],
            }
        )
        return
    table = RichTable(title="policy packs")
    for col in ("name", "jurisdiction", "factors", "summary"):
        table.add_column(col)
    for p in packs:
        name = f"{p.name} (default)" if p.name == DEFAULT_PACK else p.name
        table.add_row(name, p.jurisdiction, ", ".join(p.allowed_factors), p.summary)
    out.print(table)


@policy_app.command("show")
def policy_show(
    name: str = typer.Argument(..., help="A shipped pack name or the path of a YAML pack."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show one pack: factors, retention, adverse-action and consent rules, citations."""
    from openbureau.policy import load_pack

    with _usage_errors():
        pack = load_pack(name)
    if as_json:
        _print_json(pack.record())
        return
    out.print(f"[bold]{pack.name}[/bold] v{pack.version} ({pack.jurisdiction}) {pack.digest}")
    out.print(pack.summary)
    rules = RichTable(title="rules", show_header=False)
    rules.add_column("rule")
    rules.add_column("value")
    for factor in ("history", "behavior", "capacity", "identity", "network"):
        rule = pack.forbidden(factor)
        rules.add_row(
            f"factor {factor}",
            "[green]allowed[/green]" if rule is None else f"[red]forbidden[/red] ({rule.cite})",
        )
    if pack.network is not None:
        rules.add_row(
            "network factor",
            f"at most {pack.network.cap_points:g} points; at least "
            f"{pack.network.min_contacts} consented contacts",
        )
    rules.add_row("public records count for", f"{pack.public_record_expiry_years} years")
    for kind, years in pack.reporting_limits_years:
        rules.add_row(f"reporting limit: {kind}", f"{years} years")
    aa = pack.adverse_action
    rules.add_row("adverse reasons stated", f"at most {aa.max_reasons}")
    rules.add_row("human review on request", "yes" if aa.human_review else "no")
    rules.add_row("consent for partner lookups", "required")
    rules.add_row("access log kept", f"{pack.access_log_retention_years} years")
    out.print(rules)
    for f in pack.forbidden_factors:
        out.print(f"[bold]why no {f.factor} factor:[/bold] {f.why}")
    out.print(f"[bold]adverse action:[/bold] {aa.notice}")
    cites = RichTable(title="citations")
    cites.add_column("law", overflow="fold", ratio=2)
    cites.add_column("article", ratio=1)
    cites.add_column("what", ratio=3)
    for c in pack.citations:
        cites.add_row(c.law + (f"\n{c.url}" if c.url else ""), c.article or "", c.what)
    out.print(cites)
    if pack.notes:
        out.print(f"[dim]{pack.notes}[/dim]")


from openbureau.evaluate.command import evaluate as _evaluate  # noqa: E402 - light imports only

app.command(name="evaluate")(_evaluate)
from openbureau.workflow.rescore_command import rescore_command  # noqa: E402 - light imports

app.command(name="rescore")(rescore_command)
from openbureau.monitor.command import monitor as _monitor  # noqa: E402 - light imports
from openbureau.release.command import release as _release  # noqa: E402 - light imports

app.command(name="monitor")(_monitor)
app.command(name="release")(_release)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        help="SQLAlchemy URL (default: $DATABASE_URL, else an SQLite file beside the store).",
    ),
    store: Path | None = STORE_OPTION,
    model: Path | None = typer.Option(None, "--model", help="Model folder (replay, what-if)."),
    scores: Path | None = typer.Option(
        None, "--scores", help="Publish this scores file first (skipped if already published)."
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=1,
        help="Server processes (default $OPENBUREAU_WORKERS, else 1); they share the rate limit.",
    ),
) -> None:
    """Serve the bureau API (OpenAPI at /docs); migrates the database to the latest schema."""
    from openbureau.service.server import serve as run_server
    from openbureau.service.settings import Settings, default_database_url

    with _usage_errors():
        settings = Settings(
            database_url=database_url or default_database_url(store), store=store, model=model
        )
        err.print(registry_cli.champion_banner(settings.database_url))
        run_server(settings, host=host, port=port, scores=scores, workers=workers)


audit_app = typer.Typer(
    help="Check the service's records: the access log's hash chain, replays of scores.",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")
from openbureau.registry import cli as registry_cli  # noqa: E402 - typer and rich only

app.add_typer(registry_cli.app, name="models")
DATABASE_URL_OPTION = typer.Option(
    None, "--database-url", help="SQLAlchemy URL (default: $DATABASE_URL, else the SQLite file)."
)


@audit_app.command("verify")
def audit_verify(
    database_url: str | None = DATABASE_URL_OPTION,
    store: Path | None = STORE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Walk the access log's hash chain; exit 1 naming the first edited or deleted entry."""
    from openbureau.service.cli import verify

    code = verify(database_url, store, as_json, out)
    if code:
        raise typer.Exit(code)


@audit_app.command("replay")
def audit_replay(
    person: str = typer.Argument(..., help="The person's bureau id."),
    version: int | None = typer.Option(None, "--version", help="Score version (default: current)."),
    model: Path | None = typer.Option(None, "--model", help="Model folder, if not where saved."),
    database_url: str | None = DATABASE_URL_OPTION,
    store: Path | None = STORE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Re-score a published score from its snapshot and saved model; exit 1 unless identical."""
    from openbureau.service.cli import replay_command

    code = replay_command(person, version, model, database_url, store, as_json, out)
    if code:
        raise typer.Exit(code)


def main() -> None:  # pragma: no cover - console entry point
    app()
