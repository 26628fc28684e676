"""The headline numbers of each system in one table (the report's front page), built only from
the tidy tables that the figure jobs write, so every number can be traced to a figure's CSV.

One row per number: system, dataset, model, quantity, value and n (the samples it rests on).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from attrib.catalogue import parse_order
from attrib.figures import format_lambda

COLUMNS = ["system", "dataset", "model", "quantity", "value", "n"]
HALF = 0.5  # missingness numbers are read where half of the features are removed


def _rows(system: str, table: pd.DataFrame, quantities, n: str | None) -> list[dict]:
    """One row per (table row, quantity); ``quantities`` are (name of a row, value column)."""
    return [{"system": system, "dataset": r["dataset"], "model": r["model"], "quantity": name(r),
             "value": float(r[value]), "n": int(r[n]) if n and pd.notna(r.get(n)) else np.nan}
            for _, r in table.iterrows() for name, value in quantities]


def _near_half(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group, the row whose fraction removed is closest to one half."""
    distance = (table["fraction_removed"] - HALF).abs()
    return table.loc[distance.groupby([table[k] for k in keys]).idxmin()]


def test_accuracy(table: pd.DataFrame) -> list[dict]:
    """The fine-tuned base model's test accuracy with its inputs masked at its own λ."""
    own = table[np.isclose(table["level"], table["lam"])]
    return _rows("fine-tuning", own, [(lambda r: f"test accuracy, fine-tuned and tested at λ = {format_lambda(r['lam'])}",
                                        "accuracy")], "test_size" if "test_size" in table else None)


def e2_samples(table: pd.DataFrame) -> list[dict]:
    """MuS E2: accuracy of the smoothed classifier and its accuracy certified for one flip."""
    keys = ["dataset", "model", "lambda"]
    table = table.assign(certified_1=table["correct"].astype(bool) & (table["radius"] >= 1))
    per = table.groupby(keys, sort=False).agg(accuracy=("correct", "mean"), certified=("certified_1", "mean"),
                                              n=("correct", "size")).reset_index()
    return _rows("MuS", per, [(lambda r: f"smoothed accuracy, λ = {format_lambda(r['lambda'])}", "accuracy"),
                              (lambda r: f"certified accuracy at radius ≥ 1 feature, λ = {format_lambda(r['lambda'])}",
                               "certified")], "n")


def diffid_auc(table: pd.DataFrame) -> list[dict]:
    """Attribution: DiffID area of every method (higher is better)."""
    return _rows("attribution", table, [(lambda r: f"DiffID area: {r['method']}", "diffid_logit_auc")],
                 "images" if "images" in table else None)


def missingness_orders(table: pd.DataFrame) -> list[dict]:
    """Missingness: predictions unchanged and class entropy with half the features removed in
    random order, per model and removal."""
    random = table[table["order"].map(lambda o: parse_order(o)[0] is None)]
    half = _near_half(random, ["dataset", "model", "removal"])
    return _rows("missingness", half, [
        (lambda r: f"unchanged, {r['fraction_removed']:.0%} removed at random ({r['removal']})", "unchanged"),
        (lambda r: f"predicted-class entropy (bits), {r['fraction_removed']:.0%} removed at random ({r['removal']})",
         "class_entropy_bits")], "images")


def _source(row) -> str:
    return "a random order" if row["source"] == "random" else f"the LIME of {row['source']}"


def missingness_topk(table: pd.DataFrame) -> list[dict]:
    """Missingness: predictions unchanged after removing the largest top-k of each explanation."""
    removed = table[table["test"] == "remove"]
    last = removed.loc[removed.groupby(["dataset", "model", "removal", "source"], sort=False)["k"].idxmax()]
    return _rows("missingness", last, [
        (lambda r: f"unchanged after removing the top {int(r['k'])} of {_source(r)} ({r['removal']})", "unchanged")],
        "images")


def missingness_text(table: pd.DataFrame) -> list[dict]:
    """Missingness, text: predictions unchanged with half the tokens removed at random."""
    random = table[table["order"].map(lambda o: parse_order(o)[0] is None)]
    half = _near_half(random, ["dataset", "model", "removal"])
    return _rows("missingness", half, [
        (lambda r: f"unchanged, {r['fraction_removed']:.0%} of the tokens removed at random ({r['removal']})",
         "unchanged")], "images")


def smug_summary(table: pd.DataFrame) -> list[dict]:
    """SMUG: median saliency metric (lower is better) and mean fraction kept, per method."""
    return _rows("SMUG", table, [(lambda r: f"median saliency metric: {r['method']}", "median_saliency_metric"),
                                 (lambda r: f"fraction of the input kept: {r['method']}", "mean_kept_fraction")],
                 "inputs")


def smug_status(table: pd.DataFrame) -> list[dict]:
    """SMUG: the share of masks the solver proved minimal, and of those it left at its time limit
    (scored apart); the rest fell back to the all-kept mask and are never scored."""
    table = table.assign(masks=table[["optimal", "timeout", "fallback"]].sum(axis=1))
    table = table.assign(optimal_share=table["optimal"] / table["masks"], timeout_share=table["timeout"] / table["masks"])
    return _rows("SMUG", table, [(lambda r: f"SMUG masks proven minimal ({r['backend']}), share", "optimal_share"),
                                 (lambda r: f"SMUG masks left at the time limit ({r['backend']}), share",
                                  "timeout_share")], "masks")


BUILDERS: dict[str, Callable[[pd.DataFrame], list[dict]]] = {
    "test_accuracy": test_accuracy,
    "e2_samples": e2_samples,
    "diffid_auc": diffid_auc,
    "missingness_orders": missingness_orders,
    "missingness_topk": missingness_topk,
    "missingness_text": missingness_text,
    "smug_summary": smug_summary,
    "smug_status": smug_status,
}


def headline_numbers(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The front-page table from the figure tables present, named as their files
    (``e2_samples`` for ``results/tables/e2_samples.csv``); empty ones (e.g. DiffID of a
    text-only run) give no rows, a name without a reader is an error."""
    unknown = sorted(set(tables) - set(BUILDERS))
    if unknown:
        raise ValueError(f"no headline numbers are read from {unknown}; known tables: {sorted(BUILDERS)}")
    rows = [row for name, table in tables.items() if len(table) for row in BUILDERS[name](table)]
    return pd.DataFrame(rows, columns=COLUMNS)
