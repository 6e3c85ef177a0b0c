"""Model accuracy against peers on real credit data, every model on the very same folds.

Per dataset (Give Me Some Credit, Home Credit 5,000, German credit, Lending Club 1,000 and
the simulator): openbureau's five-factor model, unconstrained LightGBM on the same
features, optbinning's Scorecard, an EBM (interpret) and openbureau's WoE logistic
scorecard, cross-validated on the same stratified, seeded folds: AUC mean ± std, KS,
Brier and fit seconds; a Rich table, JSON and one ROC plot (pooled out-of-fold) per dataset.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_models.py [--data ../shared/data]
        [--datasets gmsc,home_credit,german,lending_club,sim] [--folds 5]
        [--sim-people 50000] [--json benchmarks/results/models.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from openbureau.datasets import load_dataset
from openbureau.evaluate import cross_validate, load_factor_map, prepare
from openbureau.evaluate.crossval import CVResult
from openbureau.evaluate.models import Context, ReferenceGBM, factor_model
from openbureau.evaluate.table import SEGMENT_COLUMN, Prepared

ROOT = Path(__file__).resolve().parent
DATA = ROOT.parent.parent / "shared" / "data"
DATASETS = {
    "gmsc": ("give_me_some_credit", "give-me-some-credit"),
    "home_credit": ("home_credit", "home-credit-default-risk/sample5000_application_train"),
    "german": ("german_credit", "german-credit"),
    "lending_club": ("lending_club", "lending-club-samples"),
}
MODELS = ("openbureau", "lightgbm", "optbinning_scorecard", "ebm", "woe_logistic")
EBM_OUTER_BAGS = 4


# --- peer models, each behind fit(X, y) / predict_proba(X) on the fold's feature table --------
class OptbinningScorecard:
    """optbinning's Scorecard: optimal binning, WoE, logistic regression (its defaults)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> OptbinningScorecard:
        logging.getLogger("cvxpy").setLevel(logging.ERROR)
        from optbinning import BinningProcess, Scorecard
        from sklearn.linear_model import LogisticRegression

        self.card = Scorecard(
            binning_process=BinningProcess(self.ctx.names),
            estimator=LogisticRegression(max_iter=1000),
        ).fit(X[self.ctx.names], y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.card.predict_proba(X[self.ctx.names])


class EBM:
    """interpret's Explainable Boosting Machine (pairwise interactions on, few outer bags)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> EBM:
        from interpret.glassbox import ExplainableBoostingClassifier

        self.model = ExplainableBoostingClassifier(
            outer_bags=EBM_OUTER_BAGS, n_jobs=self.ctx.threads, random_state=self.ctx.seed
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model.fit(X[self.ctx.names].to_numpy(np.float64), y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(X[self.ctx.names].to_numpy(np.float64))


def woe_logistic(ctx: Context) -> Any:
    from openbureau.model import WoEScorecardClassifier

    extra: dict[str, Any] = {}
    if ctx.segments is not None:
        extra = {"segments": ctx.segments, "segment_column": SEGMENT_COLUMN}
    return WoEScorecardClassifier(list(ctx.features), random_state=ctx.seed, **extra)


def factories(model_params: dict[str, Any]) -> dict[str, Callable[[Context], Any]]:
    return {
        "openbureau": lambda ctx: factor_model(ctx, model_params),
        "lightgbm": ReferenceGBM,
        "optbinning_scorecard": OptbinningScorecard,
        "ebm": EBM,
        "woe_logistic": woe_logistic,
    }


# --- datasets ---------------------------------------------------------------------------
def real_dataset(key: str, data: Path) -> tuple[Prepared, list[Any], dict[str, Any], str]:
    name, sub = DATASETS[key]
    ds = load_dataset(name, data / sub)
    fmap = load_factor_map(ds.factor_map)
    prep = prepare(ds.table, f"<{name}>", fmap, ds.label, id_column=ds.id)
    return prep, fmap.metas, fmap.model, name


def sim_dataset(people: int, console: Console) -> tuple[Prepared, list[Any], dict[str, Any], str]:
    """Simulate, ingest into a temporary store, and build the catalog's training set."""
    from openbureau.features import SEGMENTS, feature_specs, training_set
    from openbureau.ingest import ingest
    from openbureau.sim import simulate
    from openbureau.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="bench-models-"))
    started = time.perf_counter()
    report = simulate(tmp / "sim", people=people, months=24, seed=7)
    with Store(tmp / "store") as store:
        ingest([tmp / "sim"], store)
        as_of = dt.date(2025, 12, 31) - dt.timedelta(days=365)
        table = training_set(store.con, [as_of])
    console.print(
        f"simulator: {people:,} people, {table.num_rows:,} eligible rows, oracle AUC "
        f"{report.oracle_auc:.4f} ({time.perf_counter() - started:.0f}s to simulate, "
        "ingest and build features)"
    )
    specs = list(feature_specs())
    names = [s.name for s in specs]
    data = pd.DataFrame({n: table.column(n).to_numpy(zero_copy_only=False) for n in names})
    y = table.column("label").to_numpy().astype(np.int8)
    prep = Prepared(
        data=data.astype(np.float64),
        y=y,
        ids=None,
        segment=np.asarray(table.column("segment").to_pylist(), dtype=object),
        segment_names=tuple(SEGMENTS),
        label="label",
        label_values={"default": 1, "good": 0},
        text={},
        source=f"<simulator {people} people>",
    )
    return prep, specs, {"oracle_auc": report.oracle_auc}, "simulator"


# --- running, reporting -----------------------------------------------------------------
def summarise(cv: CVResult) -> dict[str, Any]:
    out = {}
    for name, res in cv.models.items():
        s = res.summary()
        out[name] = {
            **{k: s[k] for k in ("auc", "auc_std", "ks", "ks_std", "brier", "brier_std")},
            "fit_seconds_per_fold": s["fit_seconds"],
            "per_fold": res.per_fold,
        }
    return out


def roc_plot(cv: CVResult, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_auc_score, roc_curve

    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, res in cv.models.items():
        fpr, tpr, _ = roc_curve(cv.y, res.oof)
        ax.plot(fpr, tpr, lw=1.4, label=f"{name} (pooled AUC {roc_auc_score(cv.y, res.oof):.4f})")
    ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def render(console: Console, results: dict[str, Any]) -> None:
    t = Table(title="Cross-validated accuracy, same folds per dataset (mean ± std)")
    for col in ("dataset", "model", "AUC", "KS", "Brier", "fit s/fold"):
        t.add_column(col, justify="left" if col in ("dataset", "model") else "right")
    for ds, r in results["datasets"].items():
        for i, (m, v) in enumerate(r["models"].items()):
            t.add_row(
                ds if i == 0 else "",
                m,
                f"{v['auc']:.4f} ± {v['auc_std']:.4f}",
                f"{v['ks']:.4f}",
                f"{v['brier']:.4f}",
                f"{v['fit_seconds_per_fold']:.1f}",
            )
        t.add_section()
    console.print(t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--datasets", default="gmsc,home_credit,german,lending_club,sim")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sim-people", type=int, default=50_000)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--json", type=Path, default=ROOT / "results" / "models.json")
    parser.add_argument("--plots", type=Path, default=ROOT / "results")
    args = parser.parse_args()
    console = Console()
    started = time.perf_counter()
    chosen = args.models.split(",")
    results: dict[str, Any] = {
        "benchmark": "models",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "folds": args.folds,
        "seed": args.seed,
        "datasets": {},
    }
    args.plots.mkdir(parents=True, exist_ok=True)
    for key in args.datasets.split(","):
        t0 = time.perf_counter()
        if key == "sim":
            try:
                import openbureau.features  # noqa: F401
            except ImportError:
                console.print("simulator row skipped: the feature catalog is not available")
                results["datasets"]["simulator"] = {"skipped": "no feature catalog"}
                continue
            prep, metas, extra, name = sim_dataset(args.sim_people, console)
            # as `openbureau train` fits it: thin -> established never lowers the score
            params: dict[str, Any] = {"segment_order": "increasing"}
        else:
            prep, metas, params, name = real_dataset(key, args.data)
            extra = {}
        facts = {k: v for k, v in factories(params).items() if k in chosen}

        def progress(i: int, model: str, row: dict[str, Any], name: str = name) -> None:
            console.print(
                f"  {name} fold {i + 1}/{args.folds} {model:<21} AUC {row['auc']:.4f} "
                f"({row['fit_seconds']:.1f}s)",
                highlight=False,
            )

        cv = cross_validate(
            prep, metas, facts, k=args.folds, seed=args.seed, threads=args.threads,
            on_fold=progress,
        )  # fmt: skip
        plot = args.plots / f"roc_{name}.png"
        roc_plot(cv, f"{name}: {prep.n_rows:,} rows, {prep.y.mean():.1%} default", plot)
        results["datasets"][name] = {
            "rows": prep.n_rows,
            "default_rate": float(prep.y.mean()),
            "features": len(metas),
            "segments": list(prep.segment_names or ()),
            "folds": cv.folds_json(),
            "models": summarise(cv),
            "roc_plot": str(plot.relative_to(ROOT)) if plot.is_relative_to(ROOT) else str(plot),
            "seconds": time.perf_counter() - t0,
            **extra,
        }
        ob = results["datasets"][name]["models"].get("openbureau")
        lg = results["datasets"][name]["models"].get("lightgbm")
        if ob and lg:
            results["datasets"][name]["auc_gap_to_lightgbm"] = lg["auc"] - ob["auc"]
    results["seconds"] = time.perf_counter() - started
    render(console, results)
    console.print(f"total {results['seconds']:.0f}s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1, default=float) + "\n")
    console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
