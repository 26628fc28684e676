"""The report's front page: headline numbers read from hand-made figure tables."""

import numpy as np
import pandas as pd
import pytest

from attrib.summary import COLUMNS, headline_numbers


def value(summary, **where):
    rows = summary
    for key, wanted in where.items():
        rows = rows[rows[key] == wanted]
    assert len(rows) == 1, where
    return rows.iloc[0]["value"], rows.iloc[0]["n"]


def test_headline_numbers_from_each_table():
    tables = {
        "test_accuracy": pd.DataFrame({"dataset": "d", "model": "m", "lam": 0.5, "level": [0.5, 0.25],
                                       "loss": 1.0, "accuracy": [0.8, 0.6], "test_size": 100}),
        "e2_samples": pd.DataFrame({"dataset": "d", "model": "m", "lambda": 0.5, "sample": range(4),
                                    "correct": [True, True, False, True], "radius": [1.0, 0.5, 2.0, 1.5]}),
        "diffid_auc": pd.DataFrame(columns=["dataset", "model", "method", "diffid_logit_auc"]),  # text only
        "missingness_orders": pd.DataFrame({
            "dataset": "d", "model": "m", "removal": "black", "order": ["random"] * 4 + ["saliency"] * 4,
            "removed": [0, 16, 32, 48] * 2, "fraction_removed": [0, 0.25, 0.5, 0.75] * 2,
            "unchanged": [1, 0.7, 0.4, 0.2, 1, 0.3, 0.1, 0.0], "class_entropy_bits": [3.3, 3, 2.5, 2, 3, 2, 1, 0],
            "images": 50}),
        "missingness_topk": pd.DataFrame({
            "dataset": "d", "model": "m", "removal": "black", "test": ["remove"] * 4 + ["keep"] * 2,
            "source": ["m:black", "m:black", "random", "random", "random", "random"], "k": [1, 9, 1, 9, 1, 9],
            "unchanged": [0.9, 0.05, 1.0, 0.7, 0.1, 0.2], "images": 30}),
        "smug_summary": pd.DataFrame({"dataset": "d", "model": "m", "method": ["smug", "intgrad"], "inputs": 6,
                                      "median_saliency_metric": [-0.3, -0.2], "mean_kept_fraction": [0.25, 0.8]}),
        "smug_status": pd.DataFrame({"dataset": ["d"], "model": ["m"], "backend": ["milp"], "optimal": [6],
                                     "timeout": [1], "fallback": [1]}),
    }
    summary = headline_numbers(tables)
    assert summary.columns.tolist() == COLUMNS
    assert value(summary, system="fine-tuning") == (0.8, 100)
    assert summary[summary["system"] == "fine-tuning"]["quantity"].item() == "test accuracy, fine-tuned and tested at λ = 1/2"
    assert value(summary, quantity="smoothed accuracy, λ = 1/2") == (0.75, 4)
    assert value(summary, quantity="certified accuracy at radius ≥ 1 feature, λ = 1/2") == (0.5, 4)
    assert not (summary["system"] == "attribution").any()
    assert value(summary, quantity="unchanged, 50% removed at random (black)") == (0.4, 50)
    assert value(summary, quantity="predicted-class entropy (bits), 50% removed at random (black)") == (2.5, 50)
    assert value(summary, quantity="unchanged after removing the top 9 of the LIME of m:black (black)") == (0.05, 30)
    assert value(summary, quantity="unchanged after removing the top 9 of a random order (black)") == (0.7, 30)
    assert value(summary, quantity="median saliency metric: smug") == (-0.3, 6)
    assert value(summary, quantity="fraction of the input kept: intgrad") == (0.8, 6)
    assert value(summary, quantity="SMUG masks proven minimal (milp), share") == (0.75, 8)
    assert value(summary, quantity="SMUG masks left at the time limit (milp), share") == (0.125, 8)
    assert len(summary) == 1 + 2 + 2 + 2 + 4 + 2


def test_counts_may_be_missing_and_unknown_tables_are_errors():
    auc = pd.DataFrame({"dataset": "d", "model": "m", "method": ["saliency"], "diffid_logit_auc": [0.5]})
    summary = headline_numbers({"diffid_auc": auc})
    assert summary["quantity"].tolist() == ["DiffID area: saliency"] and np.isnan(summary["n"].item())
    with pytest.raises(ValueError, match="e2_sample"):
        headline_numbers({"e2_sample": auc})
