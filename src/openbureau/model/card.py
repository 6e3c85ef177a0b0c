"""The model card: what the model is for, what it was trained on, how well and how it scores."""

from __future__ import annotations

from typing import Any


def _fmt(v: Any, digits: int = 4) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def model_card(manifest: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Markdown and JSON versions of the card, both built from the artifact manifest."""
    sc = manifest["scaling"]
    overall = manifest["metrics"]["overall"]
    card = {
        "model_id": manifest["model_id"],
        "kind": manifest["kind"],
        "openbureau_version": manifest["openbureau_version"],
        "catalog_version": manifest["catalog_version"],
        "created_at": manifest["created_at"],
        "intended_use": (
            "Estimate the 12-month probability of default of a consenting person and "
            "express it as a 350-950 score with an exact five-factor breakdown and adverse "
            "reasons. Not for any purpose the person has not consented to."
        ),
        "training_data": {"sha256": manifest["data_hash"], **overall},
        "metrics": manifest["metrics"],
        "scaling": sc,
        "base_points": manifest["base_points"],
        "factor_max_points": manifest["factor_max_points"],
        "calibration": manifest["calibration"],
        "calibration_table": manifest["calibration_table"],
        "features": manifest["features"],
        **({"policy": manifest["policy"]} if manifest.get("policy") else {}),
        "guarantees": [
            "log-odds are a sum of one shape per feature and segment; factor sub-scores "
            "are sums of their features' points",
            "score = clip(base[segment] + sum of the five sub-scores, low, high)",
            "features with a direction are monotone in it",
            "reasons rank features by the points each costs against the best attainable "
            "value in the person's segment",
        ],
        "limitations": [
            "interactions between features are not modelled (by design: exact reasons)",
            "calibration is a Platt line fitted out of fold; check the calibration table "
            "on new populations",
        ],
    }
    lines = [
        f"# Model card — {manifest['kind']} `{manifest['model_id']}`",
        "",
        f"openbureau {manifest['openbureau_version']}, feature catalog "
        f"{manifest['catalog_version']}, created {manifest['created_at']}.",
        "",
        "## Intended use",
        card["intended_use"],
        "",
        "## Training data",
        f"- rows: {overall['rows']}, default rate: {_fmt(overall['default_rate'])}",
        f"- SHA-256: `{manifest['data_hash']}`",
        f"- metrics ({manifest['metrics']['evaluated_on']}): AUC {_fmt(overall['auc'])}, "
        f"log loss {_fmt(overall['log_loss'])}, Brier {_fmt(overall['brier'])}",
        "",
        "## Scaling",
        f"Score {sc['anchor_score']:g} at odds of good {sc['anchor_odds']:g}:1; every "
        f"{sc['pdo']:g} points double the odds; clipped to {sc['low']:g}-{sc['high']:g}.",
        "",
        "| segment | base | " + " | ".join(manifest["factors"]) + " |",
        "|---|---|" + "---|" * len(manifest["factors"]),
    ]
    for seg, base in manifest["base_points"].items():
        mx = manifest["factor_max_points"][seg]
        lines.append(
            f"| {seg} | {base:g} | "
            + " | ".join(f"{mx[f]:.1f}" for f in manifest["factors"])
            + " |"
        )
    lines += [
        "",
        "Factor columns: the most points each factor can give in that segment.",
        "",
        "## Calibration (score band → observed default rate)",
        "| band | rows | observed | predicted |",
        "|---|---|---|---|",
    ]
    for row in manifest["calibration_table"]:
        if row["rows"]:
            lines.append(
                f"| {row['band']} | {row['rows']} | {_fmt(row['observed_rate'])} | "
                f"{_fmt(row['predicted_rate'])} |"
            )
    lines += [
        "",
        "## Features",
        "| feature | factor | direction | actionable | reason |",
        "|---|---|---|---|---|",
    ]
    for f in manifest["features"]:
        lines.append(
            f"| {f['name']} | {f['factor']} | {f['direction']} | {f['actionable']} "
            f"| {f['reason']} |"
        )
    policy = manifest.get("policy")
    if policy:
        pack = policy["pack"]
        lines += [
            "",
            "## Jurisdiction policy",
            f"Trained under policy pack `{pack['name']}` version {pack['version']} "
            f"(digest `{pack['digest']}`): {pack['summary']}",
            "",
            f"- {policy['decision']['message']}",
            *[
                f"- {c['law']}{' ' + c['article'] if c.get('article') else ''}: {c['what']}"
                for c in pack["citations"]
            ],
        ]
    bound = manifest.get("network_bound")
    if bound:
        cap, k = bound["cap_points"], bound["min_contacts"]
        card["guarantees"] += [
            f"the network sub-score spans at most {cap:g} points in every segment",
            f"fewer than {k} consented contacts: the neutral network sub-score, no network reason",
            f"one contact's recorded default moves a score by at most {cap / k:.1f} points",
        ]
        lines += [
            "",
            "## Network factor safeguards",
            f"Cap {cap:g} points; at least {k} consented contacts "
            f"(`{bound['contacts_feature'] or 'no contact count: no gate'}`) for a network "
            f"sub-score other than neutral; one contact moves a score by at "
            f"most {cap / k:.1f} points (exposure features: {', '.join(bound['exposures'])}). "
            f"Shrink applied to fit the one-contact bound, per segment: "
            f"{', '.join(f'{v:.2f}' for v in bound['one_contact_shrink'])}; to fit the cap: "
            f"{', '.join(f'{v:.2f}' for v in bound['range_shrink'])}. "
            f"Share of training rows given the neutral sub-score: {bound['neutral_share']:.1%}.",
        ]
    lines += [
        "",
        "## Guarantees",
        *[f"- {g}" for g in card["guarantees"]],
        "",
        "## Limitations",
        *[f"- {g}" for g in card["limitations"]],
        "",
    ]
    return "\n".join(lines), card
