"""The network factor on a real trust network: Bitcoin-OTC, split in time, against REV2.

Task (``openbureau.datasets.bitcoin_otc``): users active before the cutoff (2013-07-01) and
rated in the 12 months after it; label ``distrusted`` = at least one negative rating in
that window; features from ratings before the cutoff only. On the same stratified, seeded
folds:

* openbureau, own features only (``openbureau.evaluate.evaluate_table``, no edges), and the
  unconstrained LightGBM reference on the same features;
* openbureau, own + network: ``evaluate_table(..., edges=...)`` once it takes edges; until
  then the network package's ``network_features`` computed here, out of fold (each outer
  fold's test labels are zeroed for everyone, and each row never sees its own fold's
  labels), seeds = the table's labels, contacts = positive ratings before the cutoff. A
  second variant seeds the walk with users who were distrusted *before* the cutoff (a
  point-in-time record, as a bureau's recorded defaults are), which needs no folds;
* REV2 (``benchmarks/peers/rev2.py``) on the pre-cutoff graph alone, unsupervised: AUC of
  -goodness, -fairness and the authors' degree-weighted fraud score;
* LightGBM (the reference) on own + REV2 features, as an upper reference.

Then REV2's own protocol: the paper's ground truth (users the founder, or users the founder
trusts, rated strongly; 136 benign, 180 fraudulent) on three graphs: all ratings (the
paper's setting), the founder's own ratings removed, and every rating that defines a label
removed. Unsupervised AUC of REV2's scores, the authors' supervised protocol (a random
forest on REV2 scores from a grid of parameter settings, 10 folds), and openbureau's model
on own features where the label is not written into them.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_network_otc.py [--data ../shared/data]
        [--folds 5] [--seed 0] [--json benchmarks/results/network_otc.json]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd
import yaml
from rich.console import Console
from rich.table import Table
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))

from openbureau.datasets import bitcoin_otc as otc
from openbureau.evaluate import evaluate_table, fold_assignment, parse_factor_map
from openbureau.evaluate.metrics import mean_std, scores
from openbureau.evaluate.models import Context, ReferenceGBM, factor_model
from peers.rev2 import Rev2Params, Rev2Result, parameter_grid, rev2

ROOT = Path(__file__).resolve().parent
DATA = ROOT.parent.parent / "shared" / "data"
SUB = "bitcoin-otc-trust/soc-sign-bitcoinotc.csv.gz"
PAPER_AUC = 0.90
NETWORK_MAP = {
    "network_default_share": ("decreasing", "Contacts who were distrusted"),
    "network_two_hop_exposure": ("decreasing", "Distrust two steps away in the network"),
    "network_walk_default_ratio": ("decreasing", "Distrust among the people the network reaches"),
    "network_contacts": ("none", "Number of trust contacts"),
    "network_tenure_months": ("none", "How long contacts have been known"),
}
REV2_MAP = {
    "rev2_fairness": ("increasing", "Ratings given disagree with the consensus"),
    "rev2_goodness": ("increasing", "Rated poorly by reliable raters"),
}


# --- helpers ---------------------------------------------------------------------------
def auc(y: np.ndarray, s: np.ndarray) -> float:
    """AUC with missing scores at the median (no evidence either way)."""
    s = np.asarray(s, dtype=np.float64)
    s = np.where(np.isfinite(s), s, np.nanmedian(s))
    return float(roc_auc_score(y, s))


def fold_aucs(y: np.ndarray, s: np.ndarray, assignment: np.ndarray) -> dict[str, Any]:
    """Mean ± std of the AUC per fold (and pooled), for a score fitted on nothing."""
    per = [auc(y[assignment == i], s[assignment == i]) for i in np.unique(assignment)]
    m, sd = mean_std(per)
    return {"auc": m, "auc_std": sd, "pooled_auc": auc(y, s), "per_fold": per}


def extend_map(base: Path, extra: dict[str, tuple[str, str]], factor: str) -> Any:
    """The shipped factor map plus ``extra`` columns under ``factor``."""
    data = yaml.safe_load(base.read_text(encoding="utf-8"))
    for name, (direction, reason) in extra.items():
        data["factors"][name] = {"factor": factor, "direction": direction, "reason": reason}
    return parse_factor_map(data, f"{base} + {factor} columns")


def rev2_columns(res: Rev2Result, index: np.ndarray) -> dict[str, np.ndarray]:
    return {"rev2_fairness": res.fairness[index], "rev2_goodness": res.goodness[index]}


# --- own + network, out of fold ------------------------------------------------------------
def network_cv(
    nodes: pd.DataFrame,
    edges: pd.DataFrame,
    assignment: np.ndarray,
    k: int,
    seed: int,
    cutoff: Any,
    seeds: str,
) -> dict[str, Any]:
    """Both models on own + network features, features rebuilt per outer fold."""
    from openbureau.network import NetworkConfig, network_features

    fmap = extend_map(otc.factor_map_path(otc.NAME), NETWORK_MAP, "network")
    y = nodes[otc.LABEL].to_numpy(np.int8)
    pos = edges[edges["weight"] > 0]
    ids = np.unique(np.concatenate([nodes[otc.ID], edges["source"], edges["target"]]))
    n = ids.size
    src = np.searchsorted(ids, pos["source"].to_numpy())
    dst = np.searchsorted(ids, pos["target"].to_numpy())
    stamps = pd.to_datetime(pos["timestamp"], utc=True).dt.tz_convert(None)
    since = stamps.to_numpy().astype("datetime64[D]")
    row = np.searchsorted(ids, nodes[otc.ID].to_numpy())
    as_of = cutoff.date()
    config = NetworkConfig(folds=k)
    own = nodes[[f.name for f in fmap.features if f.name not in NETWORK_MAP]]

    def features(
        defaulted: np.ndarray, borrower: np.ndarray, fold: np.ndarray | None
    ) -> pd.DataFrame:
        out = network_features(
            src, dst, n, defaulted, borrower, fold, since=since, as_of=as_of, config=config
        )
        return pd.DataFrame({c: out[c][row] for c in NETWORK_MAP})

    fixed = None
    if seeds == "pre_cutoff":
        # recorded distrust before the cutoff, for every user in the graph
        neg = edges.loc[edges["weight"] < 0, "target"].to_numpy()
        d = np.isin(ids, neg)
        fixed = features(d, np.ones(n, bool), None)  # the engine's own hash folds
    results: dict[str, Any] = {"openbureau": [], "reference": []}
    oof = {m: np.full(y.size, np.nan) for m in results}
    for f in range(k):
        tr, te = np.flatnonzero(assignment != f), np.flatnonzero(assignment == f)
        if fixed is None:
            fold = np.zeros(n, np.int64)
            fold[row] = assignment
            d = np.zeros(n, bool)
            b = np.zeros(n, bool)
            d[row] = (y == 1) & (assignment != f)
            b[row] = assignment != f
            net = features(d, b, fold)
        else:
            net = fixed
        X = pd.concat([own.reset_index(drop=True), net], axis=1).astype(np.float64)
        ctx = Context(fmap.metas, None, int(tr.size), seed, 2)
        for name, est in (
            ("openbureau", factor_model(ctx, fmap.model)),
            ("reference", ReferenceGBM(ctx)),
        ):
            est.fit(X.iloc[tr].reset_index(drop=True), y[tr])
            p = np.asarray(est.predict_proba(X.iloc[te].reset_index(drop=True)))[:, 1]
            oof[name][te] = p
            results[name].append(scores(y[te], p)["auc"])
    out = {}
    for name, per in results.items():
        m, sd = mean_std(per)
        out[name] = {"auc": m, "auc_std": sd, "per_fold": per, "oof": oof[name]}
    return out


# --- the temporal task ---------------------------------------------------------------------
def temporal(
    data: otc.BitcoinOTC, k: int, seed: int, console: Console, tmp: Path
) -> dict[str, Any]:
    nodes, edges = data.nodes, data.edges
    table, edges_csv, fmap_path = data.write(tmp / "otc")
    y = nodes[otc.LABEL].to_numpy(np.int8)
    assignment = fold_assignment(y, k, seed)
    rows: dict[str, Any] = {}
    curves: dict[str, np.ndarray] = {}

    rep, cv, _ = evaluate_table(table, fmap_path, folds=k, seed=seed)
    if not np.array_equal(cv.assignment, assignment):
        raise RuntimeError("evaluate_table's folds differ from fold_assignment's")
    rows["openbureau: own features"] = {"auc": rep["auc"], "auc_std": rep["auc_std"]}
    rows["lightgbm: own features"] = {
        "auc": rep["reference_auc"],
        "auc_std": rep["reference_auc_std"],
    }
    curves["openbureau: own"] = cv.models["openbureau"].oof
    console.print(f"own features: openbureau {rep['auc']:.4f}, lightgbm {rep['reference_auc']:.4f}")

    # own + network: the evaluate command's own path if it exists, else the engine here
    if "edges" in inspect.signature(evaluate_table).parameters:
        rep_n, cv_n, _ = evaluate_table(
            table,
            fmap_path,
            folds=k,
            seed=seed,
            edges=edges_csv,  # type: ignore[call-arg]
        )
        rows["openbureau: own + network (evaluate --edges)"] = {
            "auc": rep_n["auc"],
            "auc_std": rep_n["auc_std"],
            "auc_without_network": rep_n.get("auc_without_network"),
        }
        curves["openbureau: own + network"] = cv_n.models["openbureau"].oof
    else:
        rows["openbureau: own + network (evaluate --edges)"] = {
            "pending": "evaluate_table has no edges parameter yet"
        }
    try:
        import openbureau.network  # noqa: F401

        has_network = True
    except ImportError:
        has_network = False
    if has_network:
        for seeds, label in (
            ("labels", "table labels, out of fold"),
            ("pre_cutoff", "distrust before the cutoff"),
        ):
            t0 = time.perf_counter()
            res = network_cv(nodes, edges, assignment, k, seed, data.cutoff, seeds)
            for model in ("openbureau", "reference"):
                r = res[model]
                name = "openbureau" if model == "openbureau" else "lightgbm"
                rows[f"{name}: own + network (seeds: {label})"] = {
                    "auc": r["auc"],
                    "auc_std": r["auc_std"],
                    "per_fold": r["per_fold"],
                }
            if seeds == "labels":
                curves["openbureau: own + network"] = res["openbureau"]["oof"]
            console.print(
                f"own + network ({label}): openbureau {res['openbureau']['auc']:.4f}, "
                f"lightgbm {res['reference']['auc']:.4f} ({time.perf_counter() - t0:.0f}s)"
            )
    else:
        rows["openbureau: own + network (engine here)"] = {
            "pending": "openbureau.network is not available"
        }

    # REV2 on the pre-cutoff graph, unsupervised
    ids = np.unique(np.concatenate([nodes[otc.ID], edges["source"], edges["target"]]))
    s = np.searchsorted(ids, edges["source"].to_numpy())
    t = np.searchsorted(ids, edges["target"].to_numpy())
    t0 = time.perf_counter()
    r2 = rev2(s, t, edges["weight"].to_numpy() / 10.0, ids.size)
    rev2_s = time.perf_counter() - t0
    idx = np.searchsorted(ids, nodes[otc.ID].to_numpy())
    for name, score in (
        ("REV2: -goodness", -r2.goodness[idx]),
        ("REV2: -fairness", -r2.fairness[idx]),
        ("REV2: fraud score", r2.fraud_score()[idx]),
    ):
        rows[name] = fold_aucs(y, score, assignment)
    curves["REV2: -goodness"] = -r2.goodness[idx]
    console.print(
        f"REV2: {r2.iterations} iterations ({rev2_s:.2f}s), -goodness "
        f"{rows['REV2: -goodness']['auc']:.4f}"
    )

    # own + REV2: the reference (and openbureau, REV2 as its network factor)
    with_rev2 = nodes.assign(**rev2_columns(r2, idx))
    path = tmp / "otc_rev2.csv"
    with_rev2.to_csv(path, index=False, na_rep="")
    fmap = extend_map(otc.factor_map_path(otc.NAME), REV2_MAP, "network")
    rep_r, cv_r, _ = evaluate_table(path, fmap, folds=k, seed=seed)
    rows["lightgbm: own + REV2"] = {
        "auc": rep_r["reference_auc"],
        "auc_std": rep_r["reference_auc_std"],
    }
    rows["openbureau: own + REV2 (as network factor)"] = {
        "auc": rep_r["auc"],
        "auc_std": rep_r["auc_std"],
    }
    curves["lightgbm: own + REV2"] = cv_r.models["reference"].oof
    return {
        "cutoff": data.cutoff.isoformat(),
        "horizon_days": data.horizon_days,
        "rated_after_only": data.rated_after_only,
        "users": len(nodes),
        "distrusted": int(y.sum()),
        "base_rate": float(y.mean()),
        "edges_before_cutoff": len(edges),
        "folds": {"k": k, "seed": seed, "rows": np.bincount(assignment).tolist()},
        "rev2": {"iterations": r2.iterations, "converged": r2.converged, "seconds": rev2_s},
        "rows": rows,
        "_curves": (y, curves),
    }


# --- REV2's own protocol -----------------------------------------------------------------
def rev2_protocol(ratings: pd.DataFrame, seed: int, console: Console, tmp: Path) -> dict[str, Any]:
    from sklearn.ensemble import RandomForestClassifier

    gt = otc.founder_ground_truth(ratings)
    own = ratings[ratings["source"] == otc.FOUNDER]
    trusted = np.union1d([otc.FOUNDER], own.loc[own["rating"] >= otc.STRONG, "target"])
    defining = (
        ratings["source"].isin(trusted)
        & (ratings["rating"].abs() >= otc.STRONG)
        & ratings["target"].isin(gt[otc.ID])
    )
    graphs = {
        "all ratings (paper)": ratings,
        "founder's ratings removed": ratings[ratings["source"] != otc.FOUNDER],
        "label-defining ratings removed": ratings[~defining.to_numpy()],
    }
    grid = parameter_grid()
    out: dict[str, Any] = {
        "ground_truth": {
            "users": len(gt),
            "fraudulent": int(gt["fraudulent"].sum()),
            "benign": int((gt["fraudulent"] == 0).sum()),
            "founder": otc.FOUNDER,
            "strong": otc.STRONG,
            "label_defining_ratings": int(defining.sum()),
        },
        "grid_settings": len(grid),
        "graphs": {},
    }
    for gname, g in graphs.items():
        ids = np.unique(np.concatenate([g["source"], g["target"], gt[otc.ID]]))
        s = np.searchsorted(ids, g["source"].to_numpy())
        t = np.searchsorted(ids, g["target"].to_numpy())
        w = g["rating"].to_numpy() / 10.0
        idx = np.searchsorted(ids, gt[otc.ID].to_numpy())
        y_all = gt["fraudulent"].to_numpy(np.int8)
        base = rev2(s, t, w, ids.size, Rev2Params())
        raters = base.out_degree[idx] > 0  # the authors score raters only
        y = y_all[raters]
        entry: dict[str, Any] = {
            "ratings": len(g),
            "scored_users": int(raters.sum()),
            "scored_fraudulent": int(y.sum()),
            "unsupervised": {
                "-fairness": auc(y, -base.fairness[idx][raters]),
                "fraud score": auc(y, base.fraud_score()[idx][raters]),
                "-goodness (all 316)": auc(y_all, -base.goodness[idx]),
            },
        }
        # the authors' supervised protocol: a random forest on the scores of every setting
        t0 = time.perf_counter()
        feats = []
        for prm in grid:
            r = rev2(s, t, w, ids.size, prm)
            feats += [r.fraud_score()[idx], r.fairness[idx]]
        X = np.nan_to_num(np.column_stack(feats)[raters], nan=0.0)
        assignment = fold_assignment(y, 10, seed)
        oof = np.full(y.size, np.nan)
        per = []
        for f in range(10):
            tr, te = assignment != f, assignment == f
            rf = RandomForestClassifier(n_estimators=500, random_state=seed, n_jobs=2)
            rf.fit(X[tr], y[tr])
            oof[te] = rf.predict_proba(X[te])[:, 1]
            per.append(roc_auc_score(y[te], oof[te]))
        m, sd = mean_std(per)
        entry["supervised_rf"] = {"auc": m, "auc_std": sd, "seconds": time.perf_counter() - t0}
        # openbureau on own features over the whole timeline, where labels are not in them
        if gname != "all ratings (paper)":
            end = float(g["time"].max()) + 1.0
            nodes = otc.own_features(g, ids, end).iloc[idx][raters].reset_index(drop=True)
            nodes[otc.LABEL] = y
            path = tmp / f"gt_{len(out['graphs'])}.csv"
            nodes.to_csv(path, index=False, na_rep="")
            rep, _, _ = evaluate_table(path, otc.factor_map_path(otc.NAME), folds=10, seed=seed)
            entry["openbureau_own"] = {"auc": rep["auc"], "auc_std": rep["auc_std"]}
            entry["lightgbm_own"] = {
                "auc": rep["reference_auc"],
                "auc_std": rep["reference_auc_std"],
            }
        out["graphs"][gname] = entry
        console.print(
            f"REV2 protocol, {gname}: -fairness {entry['unsupervised']['-fairness']:.4f}, "
            f"supervised {m:.4f}"
        )
    return out


# --- reporting -------------------------------------------------------------------------------
def render(console: Console, res: dict[str, Any]) -> None:
    t = Table(title=f"Bitcoin-OTC, distrusted within {res['horizon_days']} days of the cutoff")
    for col in ("model", "AUC (mean ± std over folds)"):
        t.add_column(col, justify="left" if col == "model" else "right")
    for name, r in res["rows"].items():
        cell = r["pending"] if "pending" in r else f"{r['auc']:.4f} ± {r['auc_std']:.4f}"
        t.add_row(name, f"[dim]{cell}[/dim]" if "pending" in r else cell)
    console.print(t)
    p = res["rev2_protocol"]
    t2 = Table(title=f"REV2's protocol (founder ground truth; paper: AUC {PAPER_AUC})")
    for col in ("graph", "REV2 -fairness", "REV2 fraud score", "REV2 + RF", "openbureau own"):
        t2.add_column(col, justify="left" if col == "graph" else "right")
    for g, e in p["graphs"].items():
        ob = e.get("openbureau_own")
        t2.add_row(
            g,
            f"{e['unsupervised']['-fairness']:.4f}",
            f"{e['unsupervised']['fraud score']:.4f}",
            f"{e['supervised_rf']['auc']:.4f} ± {e['supervised_rf']['auc_std']:.4f}",
            "n/a (labels in features)" if ob is None else f"{ob['auc']:.4f} ± {ob['auc_std']:.4f}",
        )
    console.print(t2)


def roc_plot(y: np.ndarray, curves: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, s in curves.items():
        s = np.where(np.isfinite(s), s, np.nanmedian(s))
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, lw=1.4, label=f"{name} (pooled AUC {roc_auc_score(y, s):.3f})")
    ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=1)
    ax.set(
        xlabel="false positive rate",
        ylabel="true positive rate",
        title="Bitcoin-OTC: distrusted after the cutoff",
    )
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cutoff", default=otc.DEFAULT_CUTOFF.isoformat())
    parser.add_argument("--horizon-days", type=int, default=otc.DEFAULT_HORIZON_DAYS)
    parser.add_argument("--json", type=Path, default=ROOT / "results" / "network_otc.json")
    args = parser.parse_args()
    console = Console()
    started = time.perf_counter()
    src = args.data / SUB
    ratings = otc.read_ratings(src)
    data = otc.split(ratings, args.cutoff, args.horizon_days, source=str(src))
    console.print(
        f"{len(data.nodes):,} users, {int(data.nodes[otc.LABEL].sum()):,} distrusted "
        f"({data.base_rate:.1%}); {len(data.edges):,} ratings before {data.cutoff:%Y-%m-%d}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-otc-") as d:
        tmp = Path(d)
        res = temporal(data, args.folds, args.seed, console, tmp)
        res["rev2_protocol"] = rev2_protocol(ratings, args.seed, console, tmp)
    y, curves = res.pop("_curves")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    plot = args.json.with_suffix(".png")
    roc_plot(y, curves, plot)
    res.update(
        {
            "benchmark": "network_otc",
            "data": str(src),
            "paper_auc": PAPER_AUC,
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
            "roc_plot": str(plot),
            "seconds": time.perf_counter() - started,
        }
    )
    args.json.write_text(json.dumps(res, indent=2, default=float), encoding="utf-8")
    render(console, res)
    console.print(f"wrote {args.json} and {plot} ({res['seconds']:.0f}s)")


if __name__ == "__main__":
    main()
