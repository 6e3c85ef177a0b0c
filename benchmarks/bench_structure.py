"""What the five-factor structure costs in accuracy, and which constraint costs it.

openbureau's score is a sum of factor sub-scores, each a sum of one step function per
feature, monotone where a direction is declared. This benchmark fits plain LightGBM
under each relaxation of that structure, on the same stratified folds per dataset, to
say where the gap to an unconstrained model comes from:

- ``additive, monotone``: one feature per tree path, directions enforced (the structure);
- ``additive, free``: one feature per path, no directions (what monotonicity costs);
- ``factor pairs, monotone``: paths may pair two features of the same factor (what
  2-D tables inside a factor would buy; sub-scores still add up);
- ``all pairs, monotone`` / ``all pairs, free``: pairs across factors too (an EBM-like
  GA2M; sub-scores would no longer be per factor);
- ``unconstrained``: the reference of every evaluation;

plus openbureau's own model (distilled, bagged on small tables) as the anchor.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_structure.py \
        [--datasets gmsc,german,lending_club,home_credit] [--json benchmarks/results/structure.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from rich.console import Console
from rich.table import Table

from bench_models import DATA, real_dataset
from openbureau.evaluate import cross_validate
from openbureau.evaluate.models import Context, ReferenceGBM, factor_model
from openbureau.model.meta import FeatureMeta

ROOT = Path(__file__).resolve().parent
# (name, pair rule or None for one feature per path, monotone?) ; None rule + free = reference
VARIANTS: dict[str, tuple[str | None, bool]] = {
    "additive, monotone": ("single", True),
    "additive, free": ("single", False),
    "factor pairs, monotone": ("factor", True),
    "all pairs, monotone": ("all", True),
    "all pairs, free": ("all", False),
}
CONSTRAINED_LEAVES = 8  # as openbureau's model


def constraints(features: Sequence[FeatureMeta], rule: str) -> list[list[int]]:
    """LightGBM interaction sets: a tree path may use the features of one set only."""
    n = len(features)
    singles = [[j] for j in range(n)]
    if rule == "single":
        return singles
    pairs = [
        [i, j]
        for i, j in itertools.combinations(range(n), 2)
        if rule == "all" or features[i].factor == features[j].factor
    ]
    return pairs + singles


def monotone(features: Sequence[FeatureMeta]) -> list[int]:
    """LightGBM's sign on the probability of default: an 'increasing' input lowers it."""
    return [{"increasing": -1, "decreasing": 1}.get(m.direction, 0) for m in features]


def variant(rule: str, mono: bool) -> Callable[[Context], ReferenceGBM]:
    def make(ctx: Context) -> ReferenceGBM:
        feats = list(ctx.features)
        params: dict[str, Any] = {
            "interaction_constraints": constraints(feats, rule),
            "num_leaves": CONSTRAINED_LEAVES,
            "feature_fraction": 1.0,
        }
        if mono:
            params["monotone_constraints"] = monotone(feats)
            params["monotone_constraints_method"] = "basic"  # keeps interaction constraints
        return ReferenceGBM(ctx, params)

    return make


def run(key: str, data: Path, folds: int, seed: int, console: Console) -> dict[str, Any]:
    prep, metas, model_params, name = real_dataset(key, data)
    factories: dict[str, Callable[[Context], Any]] = {
        "openbureau": lambda ctx: factor_model(ctx, model_params),
        **{k: variant(rule, mono) for k, (rule, mono) in VARIANTS.items()},
        "unconstrained": ReferenceGBM,
    }
    with console.status(f"{name}: {len(factories)} models x {folds} folds"):
        cv = cross_validate(prep, metas, factories, k=folds, seed=seed)
    out = {}
    for m, res in cv.models.items():
        s = res.summary()
        out[m] = {"auc": s["auc"], "auc_std": s["auc_std"], "per_fold": res.per_fold}
    return {"name": name, "rows": int(prep.y.shape[0]), "features": len(metas), "models": out}


def render(console: Console, results: dict[str, Any]) -> None:
    t = Table(title="AUC under each relaxation of the structure (same folds per dataset)")
    t.add_column("model")
    for key in results:
        t.add_column(key, justify="right")
    models = next(iter(results.values()))["models"]
    for m in models:
        cells = []
        for r in results.values():
            v = r["models"][m]
            gap = r["models"]["unconstrained"]["auc"] - v["auc"]
            own = m == "unconstrained"
            cells.append(f"{v['auc']:.4f}" if own else f"{v['auc']:.4f} ({-gap:+.4f})")
        t.add_row(m, *cells)
    console.print(t)
    console.print("(in brackets: the gap to unconstrained LightGBM on the same folds)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--datasets", default="gmsc,german,lending_club,home_credit")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=ROOT / "results" / "structure.json")
    args = parser.parse_args()
    console = Console()
    results = {
        key: run(key, args.data, args.folds, args.seed, console) for key in args.datasets.split(",")
    }
    render(console, results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": dt.date.today().isoformat(),
        "machine": platform.node(),
        "folds": args.folds,
        "seed": args.seed,
        "variants": {k: {"pairs": r, "monotone": m} for k, (r, m) in VARIANTS.items()},
    }
    args.json.write_text(json.dumps({"meta": meta, "datasets": results}, indent=2))
    console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
