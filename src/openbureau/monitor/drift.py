"""Drift monitoring: how far the latest scored population has moved from the model's
development sample, and whether its defaults (once they arrive) match the predicted PD.

Everything is compared on the bins saved with the model at training time
(``evaluation/development.json``): the score and each factor sub-score (PSI), each model
input (CSI, missing-value rates). ``compare`` works on Arrow tables, so the CLI (files)
and the service (its database) share it; ``run_monitor`` is the file-based entry point
that writes ``monitor.json`` (for alerting) and ``monitor.html`` (for people).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from openbureau.monitor.population import (
    align_features,
    features_from_store,
    hash_mismatches,
    read_scores,
    without_forbidden,
)
from openbureau.monitor.reference import (
    FeatureBins,
    missing_share,
    numeric_values,
    stability_index,
)
from openbureau.monitor.stability import Bins, psi, shares
from openbureau.monitor.thresholds import Flag, Thresholds, exit_code, status

__all__ = [
    "NO_FEATURE_BINS",
    "Development",
    "align_features",
    "compare",
    "monitor_files",
    "read_scores",
    "run_monitor",
]
JSON_FILE = "monitor.json"
HTML_FILE = "monitor.html"
NO_FEATURE_BINS = (
    "CSI unavailable: this model folder was trained before per-feature development bins "
    "were saved (its development.json has no feature_bins); retrain it to monitor its inputs"
)


@dataclass(frozen=True)
class Development:
    """What the model folder says about its development sample."""

    model_id: str
    catalog_version: str
    as_of: str
    horizon_months: int
    score_bins: Bins
    factor_bins: dict[str, Bins]
    feature_bins: dict[str, FeatureBins] | None
    factor_of: dict[str, str]

    @classmethod
    def load(cls, model_dir: Path) -> Development:
        """Read artifact.json and evaluation/development.json, naming what is missing."""
        from openbureau.workflow.train import DEVELOPMENT_FILE, EVALUATION_DIR

        model_dir = Path(model_dir)
        artifact = model_dir / "artifact.json"
        dev_file = model_dir / EVALUATION_DIR / DEVELOPMENT_FILE
        for path in (artifact, dev_file):
            if not path.is_file():
                raise FileNotFoundError(f"model folder {model_dir}: {path.name} is missing")
        manifest = json.loads(artifact.read_text())
        dev = json.loads(dev_file.read_text())
        missing = [
            k for k in ("as_of", "horizon_months", "score_bins", "factor_bins") if k not in dev
        ]
        if missing:
            raise ValueError(f"{dev_file}: lacks {missing}")
        factor_of = {f["name"]: f["factor"] for f in manifest["features"]}
        factor_of[manifest.get("segment_column") or "segment"] = "segment"
        raw = dev.get("feature_bins")
        return cls(
            model_id=manifest["model_id"],
            catalog_version=manifest.get("catalog_version", ""),
            as_of=dev["as_of"],
            horizon_months=int(dev["horizon_months"]),
            score_bins=Bins.from_dict(dev["score_bins"]),
            factor_bins={f: Bins.from_dict(b) for f, b in dev["factor_bins"].items()},
            feature_bins=None
            if raw is None
            else {n: FeatureBins.from_dict(n, b) for n, b in raw.items()},
            factor_of=factor_of,
        )


def _distribution(bins: Bins, values: np.ndarray) -> dict[str, Any]:
    return {
        "psi": psi(bins, values),
        "edges": list(bins.edges),
        "expected": list(bins.expected),
        "observed": [float(s) for s in shares(values, bins.edges)],
    }


def _stability(dev: Development, scores: pa.Table, th: Thresholds) -> tuple[dict, list[Flag]]:
    out = {"score": _distribution(dev.score_bins, numeric_values(scores.column("score")))}
    factors = {
        f: _distribution(b, numeric_values(scores.column(f"points_{f}")))
        for f, b in dev.factor_bins.items()
    }
    flags = []
    for subject, d in [("score", out["score"]), *factors.items()]:
        level = th.level("psi", d["psi"])
        if level == "ok":
            continue
        what = "The score" if subject == "score" else f"The {subject} factor's sub-score"
        flags.append(
            Flag(
                "psi",
                subject,
                d["psi"],
                getattr(th, f"psi_{level}"),
                level,
                f"{what} has moved from the development sample: PSI {d['psi']:.3f} "
                f"(warn at {th.psi_warn:g}, alert at {th.psi_alert:g}).",
            )
        )
    return {**out, "factors": factors}, flags


def _feature_row(ref: FeatureBins, factor: str, values: pa.ChunkedArray, th: Thresholds) -> dict:
    observed = [float(s) for s in ref.shares(values)]
    now_missing = observed[-1]  # the last bucket counts missing values
    return {
        "name": ref.name,
        "factor": factor,
        "kind": ref.kind,
        "csi": stability_index(ref.expected, observed),
        "dev_missing": ref.missing,
        "now_missing": now_missing,
        "missing_change_points": (now_missing - ref.missing) * 100,
        "edges": list(ref.edges),
        "categories": list(ref.categories),
        "expected": list(ref.expected),
        "observed": observed,
    }


def _feature_flags(row: dict[str, Any], th: Thresholds) -> list[Flag]:
    flags = []
    name, factor = row["name"], row["factor"]
    level = th.level("csi", row["csi"])
    if level != "ok":
        flags.append(
            Flag(
                "csi",
                name,
                row["csi"],
                getattr(th, f"csi_{level}"),
                level,
                f"Input {name} ({factor}) is distributed differently from the development "
                f"sample: CSI {row['csi']:.3f} (warn at {th.csi_warn:g}, alert at "
                f"{th.csi_alert:g}).",
            )
        )
    change = row["missing_change_points"]
    level = th.level("missing", change)
    if level != "ok":
        flags.append(
            Flag(
                "missing_rate",
                name,
                change,
                getattr(th, f"missing_{level}"),
                level,
                f"Input {name} ({factor}) is missing for {row['now_missing']:.1%} of people, "
                f"{row['dev_missing']:.1%} in development: {change:+.1f} points "
                f"(warn at {th.missing_warn:g}, alert at {th.missing_alert:g}).",
            )
        )
    return flags


def _inputs(
    dev: Development, features: pa.Table | None, reason: str | None, th: Thresholds
) -> tuple[dict[str, Any], list[Flag]]:
    if dev.feature_bins is None:
        missing_now = {}
        if features is not None:
            missing_now = {
                n: missing_share(features.column(n))
                for n in dev.factor_of
                if n in features.column_names
            }
        return {"available": False, "reason": NO_FEATURE_BINS, "missing_now": missing_now}, []
    if features is None:
        return {"available": False, "reason": reason or "no features were given"}, []
    absent = [n for n in dev.feature_bins if n not in features.column_names]
    if absent:
        raise ValueError(f"the features of the scored people lack model inputs {absent}")
    rows = [
        _feature_row(ref, dev.factor_of.get(n, "unknown"), features.column(n), th)
        for n, ref in dev.feature_bins.items()
    ]
    rows.sort(key=lambda r: -r["csi"])
    flags = [f for r in rows for f in _feature_flags(r, th)]
    return {"available": True, "reason": None, "features": rows}, flags


def _hash_flag(mismatched: int | None, people: int) -> list[Flag]:
    if not mismatched:
        return []
    return [
        Flag(
            "input_hash",
            "features",
            mismatched / people,
            0.0,
            "warn",
            f"The features of {mismatched:,} of {people:,} scored people do not reproduce "
            "their scores' input hash: they are not the inputs those scores were computed "
            "from (another store, a store changed since scoring, or other feature "
            "parameters), so CSI and missing rates describe other data.",
        )
    ]


def compare(
    dev: Development,
    scores: pa.Table,
    features: pa.Table | None = None,
    *,
    thresholds: Thresholds | None = None,
    features_reason: str | None = None,
    outcomes: dict[str, Any] | None = None,
    outcome_flags: list[Flag] | None = None,
) -> dict[str, Any]:
    """The monitor's findings for one scored population (``features`` aligned to its rows)."""
    th = thresholds or Thresholds()
    if not isinstance(th, Thresholds):
        raise TypeError(f"thresholds must be a Thresholds, got {type(th).__name__}")
    stability, flags = _stability(dev, scores, th)
    inputs, input_flags = _inputs(dev, features, features_reason, th)
    mismatched = None if features is None else hash_mismatches(scores, features)
    inputs["input_hash_mismatches"] = mismatched
    input_flags += _hash_flag(mismatched, scores.num_rows)
    flags = flags + input_flags + list(outcome_flags or [])
    order = {"alert": 0, "warn": 1}
    flags.sort(key=lambda f: (order[f.level], -abs(f.value)))
    state = status(flags)
    dates = sorted({d.isoformat() for d in pc.unique(scores.column("as_of")).to_pylist()})
    return {
        "status": state,
        "exit_code": exit_code(state),
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model_id": dev.model_id,
        "catalog_version": dev.catalog_version,
        "development": {"as_of": dev.as_of, "horizon_months": dev.horizon_months},
        "population": {"as_of": dates, "people": scores.num_rows},
        "thresholds": th.to_dict(),
        "flags": [f.to_dict() for f in flags],
        "stability": stability,
        "inputs": inputs,
        "outcomes": outcomes
        or {"available": False, "reason": "not requested (add --outcomes and a store)"},
    }


def monitor_files(
    model_dir: Path,
    scores_path: Path,
    *,
    features: Path | None = None,
    store: str | Path | None = None,
    outcomes: bool = False,
    observed_until: dt.date | None = None,
    thresholds: Thresholds | None = None,
) -> dict[str, Any]:
    """The findings for a scores file against its model's development sample (what
    monitor.json holds); ``run_monitor`` also writes them.

    Features come from ``features`` (a Parquet file of the scored rows, as ``rescore``
    writes) or are recomputed from ``store`` at the scores' as_of; with neither, CSI is
    reported unavailable. ``outcomes`` reads default rates by band from ``store`` (default:
    $OPENBUREAU_STORE or ./openbureau-data).
    """
    from openbureau.monitor.outcomes import default_rates
    from openbureau.store import Store, resolve_store

    dev = Development.load(model_dir)
    scores = read_scores(scores_path, list(dev.factor_bins))
    models = (
        set(pc.unique(pc.cast(scores.column("model_id"), pa.string())).to_pylist())
        if "model_id" in scores.column_names
        else {dev.model_id}
    )
    if models != {dev.model_id}:
        raise ValueError(
            f"{scores_path} was scored with model(s) {sorted(models)}, not {dev.model_id} "
            f"of {model_dir}: compare a population with the model that scored it"
        )
    feats, reason = None, None
    if features is not None:
        try:
            table = pq.read_table(features)
        except (pa.ArrowInvalid, OSError) as exc:
            raise ValueError(f"features file {features}: {exc}") from None
        table = without_forbidden(table, model_dir)
        feats = align_features(scores, table, f"features file {features}")
    elif store is not None:
        feats = features_from_store(store, model_dir, scores)
    else:
        reason = "CSI unavailable: give --features (from rescore) or --store to recompute them"
    outcome: dict[str, Any] | None = None
    outcome_flags: list[Flag] = []
    if outcomes:
        with Store(resolve_store(store), read_only=True) as db:
            outcome, outcome_flags = default_rates(
                db.con, scores, dev.horizon_months, thresholds or Thresholds(), observed_until
            )
    result = compare(
        dev,
        scores,
        feats,
        thresholds=thresholds,
        features_reason=reason,
        outcomes=outcome,
        outcome_flags=outcome_flags,
    )
    result["population"]["scores"] = str(scores_path)
    return result


def run_monitor(
    model_dir: Path, scores_path: Path, out_dir: Path, **options: Any
) -> dict[str, Any]:
    """``monitor_files`` (same options), then write monitor.json and monitor.html to
    ``out_dir``; returns what monitor.json holds."""
    from openbureau.monitor.page import build_page

    result = monitor_files(model_dir, scores_path, **options)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / JSON_FILE).write_text(json.dumps(result, indent=2))
    (out_dir / HTML_FILE).write_text(build_page(result), encoding="utf-8")
    return result
