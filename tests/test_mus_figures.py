"""MuS curves, the pipeline's soundness check and figures from hand-made tables."""

import numpy as np
import pandas as pd

from attrib.mus.figures import attack_curves, certified_stability_curves, e1_grid_figure, e1_main_figure, e3_figure, masked_accuracy, masked_accuracy_figure, soundness_violations, sparsity_summary


def attack_table(r_inc, r_dec, flips_inc, flips_dec, lam=0.25):
    n = len(r_inc)
    return pd.DataFrame({
        "dataset": "d", "model": "m", "sample": range(n), "method": "shap", "top_fraction": 0.25, "mode": "voting",
        "with_mu": False, "lambda": lam, "requested_lambda": lam, "num_features": 4,
        "consistent": [True] * (n - 1) + [False], "certified_consistent": [True] * (n - 1) + [False],
        "r_max_incremental": r_inc, "r_max_decremental": r_dec,
        "flips_incremental": flips_inc, "flips_decremental": flips_dec,
    })


def test_attack_curves_by_hand():
    table = attack_table([2, np.inf, 0, 3], [1, 2, 5, 3], [1, 2, 0, 2], [1, 1, 0, 2])
    curves = attack_curves(table)
    cert = curves[curves["kind"] == "certified"].set_index("radius_over_p")["fraction"]
    emp = curves[curves["kind"] == "empirical"].set_index("radius_over_p")["fraction"]
    assert cert.iloc[0] == emp.iloc[0] == 0.75  # r = 0: consistency
    at = lambda s, r: s[s.index >= r / 4 - 1e-12].iloc[0]  # noqa: E731
    assert at(cert, 1) == 0.5 and at(emp, 1) == 0.5  # min(inc, dec) ≥ 1: samples 0, 1
    assert at(cert, 2) == 0.0 and at(emp, 2) == 0.25  # empirical: sample 1 (min(inf, 2))
    assert soundness_violations(table, curves) == []


def test_soundness_check_catches_a_refuted_certificate_and_large_radii():
    table = attack_table([0, 3, 1, 1], [1, 3, 1, 1], [1, 2, 1, 0], [1, 2, 1, 0])
    problems = soundness_violations(table, attack_curves(table))
    assert any("refuted incrementally" in p for p in problems)
    assert any("below the certified" in p for p in problems)
    big = attack_table([9, 9, 9, 9], [9, 9, 9, 9], [3, 0, 0, 0], [0, 0, 0, 0])
    assert any("beyond 1/(2λ)" in p for p in soundness_violations(big, attack_curves(big)))


def e1_table():
    rows = []
    for lam in (1.0, 0.25):
        for method in ("shap", "intgrad"):
            for fraction in (0.25, 0.5):
                for sample in range(3):
                    rows.append({"dataset": "d", "model": "m", "sample": sample, "method": method,
                                 "top_fraction": fraction, "label": sample % 2, "num_features": 8, "lambda": lam,
                                 "pred_1_0": 0, "pred_a_0": sample % 2, "pred_1_a": 0, "pred_a_a": 0,
                                 "flips_1_0": 0 if lam == 1 else 2, "flips_a_0": 0 if lam == 1 else sample,
                                 "flips_1_a": 1, "flips_a_a": 2, "consistent": sample % 2 == 0,
                                 "consistent_mu": True})
    return pd.DataFrame(rows)


def test_certified_curves_masked_accuracy_and_figures(tmp_path):
    e1 = e1_table()
    curves = certified_stability_curves(e1)
    part = curves[(curves["lambda"] == 0.25) & (curves["variant"] == "no_mu") & (curves["method"] == "shap")
                  & (curves["top_fraction"] == 0.25)].set_index("radius_over_p")["fraction"]
    assert part.iloc[0] == 2 / 3  # samples 0 and 2 consistent
    assert part[part.index >= 2 / 8 - 1e-12].iloc[0] == 1 / 3  # only sample 2: min(flips 2, 2)
    accuracy = masked_accuracy(e1)
    assert (accuracy["masked_accuracy"] == 1.0).all()  # pred_a_0 = label
    assert np.allclose(accuracy["full_accuracy"], 2 / 3)
    e3 = pd.DataFrame({"dataset": "d", "model": "m", "sample": [0, 1, 0, 1], "method": "shap",
                       "with_mu": [False, False, True, True], "lambda": 0.25, "k_over_p": [0.5, 1.0, 0.25, 0.25],
                       "certified": [True, False, True, True]})
    summary = sparsity_summary(e3)
    assert summary["mean_k_over_p"].tolist() == [0.75, 0.25]
    table = attack_table([2, np.inf, 0, 3], [1, 2, 5, 3], [1, 2, 0, 2], [1, 1, 0, 2])
    for fig in (e1_main_figure(attack_curves(table)), e1_grid_figure(curves), e3_figure(summary),
                masked_accuracy_figure(accuracy)):
        fig.savefig(tmp_path / "f.png")
        assert (tmp_path / "f.png").stat().st_size > 1000
