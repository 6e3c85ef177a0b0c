"""Show an evaluation: a Rich table for people, JSON and a predictions CSV for machines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from openbureau.evaluate.crossval import CVResult
from openbureau.evaluate.table import Prepared
from openbureau.model.meta import FACTORS


def fold_line(i: int, k: int, name: str, row: dict[str, Any]) -> str:
    return (
        f"fold {i + 1}/{k} {name:<11} AUC {row['auc']:.4f}  KS {row['ks']:.4f}  "
        f"Brier {row['brier']:.4f}  ({row['fit_seconds']:.1f}s)"
    )


def _pm(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "n/a"
    return f"{mean:.4f} ± {std:.4f}" if std is not None else f"{mean:.4f}"


def render(console: Console, r: dict[str, Any]) -> None:
    """Metrics of both models, then factor weights per segment."""
    console.print(
        f"[bold]{r['table']}[/bold]: {r['rows']:,} rows, {r['defaults']:,} defaults "
        f"({r['default_rate']:.2%}), {r['folds']['k']}-fold stratified CV, seed "
        f"{r['folds']['seed']}"
    )
    t = Table(title="Cross-validated accuracy (mean ± std over the same folds)")
    t.add_column("model")
    for m in ("AUC", "KS", "Brier", "fit s/fold"):
        t.add_column(m, justify="right")
    secs = {
        "openbureau": np.mean([f["fit_seconds"] for f in r["per_fold"]]),
        "reference": np.mean([f["reference_fit_seconds"] for f in r["per_fold"]]),
    }
    t.add_row(
        "openbureau five-factor",
        _pm(r["auc"], r["auc_std"]),
        _pm(r["ks"], r["ks_std"]),
        _pm(r["brier"], r["brier_std"]),
        f"{secs['openbureau']:.1f}",
    )
    t.add_row(
        "LightGBM unconstrained (reference)",
        _pm(r["reference_auc"], r["reference_auc_std"]),
        _pm(r["reference_ks"], r["reference_ks_std"]),
        _pm(r["reference_brier"], r["reference_brier_std"]),
        f"{secs['reference']:.1f}",
    )
    if "auc_without_network" in r:
        t.add_row(
            "openbureau without the network factor",
            _pm(r["auc_without_network"], r["auc_without_network_std"]),
            "",
            "",
            "",
        )
    console.print(t)
    console.print(f"AUC of the reference minus openbureau's: {r['auc_gap']:+.4f}")
    if "network_lift" in r:
        net = r["network"]
        console.print(
            f"network factor: {net['edges']:,} edges, {net['nodes']:,} nodes; AUC lift "
            f"{r['network_lift']:+.4f} (seeds: training-fold labels only)"
        )
    fw = r.get("factor_weights") or {}
    if fw:
        w = Table(title="Factor weights per segment (share of score variance, test folds)")
        w.add_column("segment")
        w.add_column("rows", justify="right")
        for f in FACTORS:
            w.add_column(f, justify="right")
        for seg, weights in fw.items():
            rows = r["segments"].get(seg, {}).get("rows", r["rows"])
            w.add_row(
                seg,
                f"{rows:,}",
                *("-" if weights.get(f) is None else f"{weights[f]:.0%}" for f in FACTORS),
            )
        console.print(w)


def write_json(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def write_predictions(path: Path, prep: Prepared, cv: CVResult) -> None:
    """One row per table row: id, fold, label and each model's out-of-fold PD."""
    cols: dict[str, Any] = {}
    if prep.ids is not None:
        cols["id"] = prep.ids
    cols["fold"] = cv.assignment
    cols["label"] = prep.y
    if prep.segment is not None:
        cols["segment"] = prep.segment
    for name, res in cv.models.items():
        cols[f"pd_{name}"] = res.oof
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(cols).to_csv(path, index=False)
