"""``openbureau evaluate``: how well would openbureau score this lender's table?

Registered in the CLI with ``app.command(name="evaluate")(evaluate)``. Heavy libraries are
imported inside the function so ``openbureau --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

EXIT_BAD_INPUT = 2


def evaluate(
    table: Path = typer.Argument(..., help="Labelled table: CSV (.csv, .csv.gz, .zip) or Parquet."),
    label: str = typer.Option(
        None, "--label", help="Label column (1 / the --positive value = default)."
    ),
    factors: Path = typer.Option(
        ..., "--factors", help="Factor map YAML: which column feeds which factor."
    ),
    folds: int = typer.Option(5, "--folds", help="Number of stratified cross-validation folds."),
    json_out: Path = typer.Option(
        None, "--json", help="Write the full report as JSON to this file."
    ),
    id_column: str = typer.Option(None, "--id", help="Id column: not a feature; must be unique."),
    positive: str = typer.Option(None, "--positive", help="Label value that means default."),
    seed: int = typer.Option(0, "--seed", help="Seed of the folds and the models."),
    threads: int = typer.Option(2, "--threads", help="Threads per model fit."),
    predictions: Path = typer.Option(
        None, "--predictions", help="Write out-of-fold predictions (CSV)."
    ),
    edges: Path = typer.Option(
        None,
        "--edges",
        help="Consented relationships CSV (source, target, weight, timestamp) between ids "
        "of the --id column: adds the network factor, reports AUC with and without it.",
    ),
) -> None:
    """Cross-validate the five-factor model and an unconstrained LightGBM on the same folds."""
    from rich.console import Console

    from openbureau.evaluate.factormap import FactorMapError
    from openbureau.evaluate.monotone import MonotoneViolation
    from openbureau.evaluate.report import fold_line, render, write_json, write_predictions
    from openbureau.evaluate.run import evaluate_table
    from openbureau.evaluate.table import TableError

    out, err = Console(), Console(stderr=True)
    try:
        result, cv, prep = evaluate_table(
            table,
            factors,
            label,
            folds=folds,
            seed=seed,
            id_column=id_column,
            positive=positive,
            threads=threads,
            edges=edges,
            on_fold=lambda i, name, row: err.print(fold_line(i, folds, name, row)),
        )
    except (TableError, FactorMapError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except (TypeError, ValueError) as exc:  # folds vs classes, parameter checks
        err.print(f"[red]error:[/red] {table}: {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    render(out, result)
    for v in result.get("whole_model_monotone", {}).get("violations") or []:
        err.print(f"[red]warning:[/red] {MonotoneViolation(**v)}", highlight=False, soft_wrap=True)
    if json_out is not None:
        write_json(json_out, result)
        err.print(f"wrote {json_out}")
    if predictions is not None:
        write_predictions(predictions, prep, cv)
        err.print(f"wrote {predictions}")
