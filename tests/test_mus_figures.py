"""MuS curves, the pipeline's soundness check and figures from hand-made tables."""

import numpy as np
import pandas as pd

from attrib.mus.figures import (attack_curves, certified_stability_curves, e1_grid_figure, e1_main_curves,
                                e1_main_figure, e3_figure, masked_accuracy, masked_accuracy_figure,
                                soundness_violations, sparsity_summary)


def attack_table(r_inc, r_dec, flips_inc, flips_dec, lam=0.25):
    n = len(r_inc)
    return pd.DataFrame({
        "dataset": "d", "model": "m", "sample": range(n), "method": "shap", "top_fraction": 0.25, "mode": "voting",
        "with_mu": False, "lambda": lam, "requested_lambda": lam, "q": 16, "num_features": 4,
        "consistent": [True] * (n - 1) + [False], "certified_consistent": [True] * (n - 1) + [False],
        "r_max_incremental": r_inc, "r_max_decremental": r_dec,
        "flips_incremental": flips_inc, "flips_decremental": flips_dec,
    })


def curve(curves, kind, direction):
    part = curves[(curves["kind"] == kind) & (curves["direction"] == direction)]
    return part.set_index("radius_over_p")["fraction"]


def at(series, r_over_p):
    return series[series.index >= r_over_p - 1e-12].iloc[0]


def test_attack_curves_by_hand():
    table = attack_table([2, np.inf, 0, 3], [1, 2, 5, 3], [1, 2, 0, 2], [1, 1, 0, 2])
    curves = attack_curves(table)
    cert_inc, cert_dec = curve(curves, "certified", "incremental"), curve(curves, "certified", "decremental")
    emp_inc, emp_dec = curve(curves, "empirical", "incremental"), curve(curves, "empirical", "decremental")
    assert cert_inc.iloc[0] == cert_dec.iloc[0] == emp_inc.iloc[0] == emp_dec.iloc[0] == 0.75  # r = 0: consistency
    # each direction with its own radius (sample 3 is inconsistent)
    assert [at(cert_inc, r / 4) for r in (1, 2, 3)] == [0.5, 0.25, 0.0]
    assert [at(cert_dec, r / 4) for r in (1, 2)] == [0.5, 0.0]
    assert [at(emp_inc, r / 4) for r in (1, 2, 3)] == [0.5, 0.5, 0.25]
    assert [at(emp_dec, r / 4) for r in (1, 2, 3)] == [0.75, 0.5, 0.25]
    assert soundness_violations(table, curves) == []


def test_e1_main_curves_are_the_papers_four_panels():
    """Certified on every certified sample (e1, q = 64), empirical on the attacked ones (q = 16),
    incrementally and decrementally apart."""
    e1 = e1_table()
    attack = attack_table([2, np.inf, 0, 3], [1, 2, 5, 3], [1, 2, 0, 2], [1, 1, 0, 2]).assign(num_features=8)
    curves = e1_main_curves(e1, attack)
    assert set(curves["lambda"]) == {0.25} and set(curves["method"]) == {"shap"}  # the attacked λ and method
    assert set(zip(curves["kind"], curves["direction"])) == {(k, d) for k in ("certified", "empirical")
                                                              for d in ("incremental", "decremental")}
    certified = curves[curves["kind"] == "certified"]
    assert set(certified["n"]) == {3} and set(certified["q"]) == {64}
    assert set(curves[curves["kind"] == "empirical"]["n"]) == {4}
    assert set(curves[curves["kind"] == "empirical"]["q"]) == {16}
    # e1 (λ = 1/4, shap, top-1/4): samples 0 and 2 consistent; incremental flips = sample, decremental 2
    inc, dec = curve(curves, "certified", "incremental"), curve(curves, "certified", "decremental")
    assert inc.iloc[0] == dec.iloc[0] == 2 / 3
    assert at(inc, 1 / 8) == 1 / 3 and at(dec, 1 / 8) == 2 / 3 and at(dec, 2 / 8) == 2 / 3
    assert at(inc, 3 / 8) == at(dec, 3 / 8) == 0
    emp_dec = curve(curves, "empirical", "decremental")
    assert at(emp_dec, 1 / 8) == 0.75
    soft = attack.assign(mode="soft")  # a soft-only run draws the same four panels
    assert soundness_violations(soft, attack_curves(soft)) == []
    assert set(e1_main_curves(e1, soft)["kind"]) == {"certified", "empirical"}
    fig = e1_main_figure(curves)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 4
    for kind, direction in (("certified", "inc"), ("certified", "dec"), ("empirical", "inc"), ("empirical", "dec")):
        assert any(f"{kind} consistent and {direction}. stable" in t for t in titles)


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
                                 "consistent_mu": True, "requested_lambda": lam, "q": 64})
    return pd.DataFrame(rows)


def test_certified_curves_masked_accuracy_and_figures(tmp_path):
    e1 = e1_table()
    curves = certified_stability_curves(e1)
    part = curves[(curves["lambda"] == 0.25) & (curves["variant"] == "no_mu") & (curves["method"] == "shap")
                  & (curves["top_fraction"] == 0.25)]
    inc = part[part["direction"] == "incremental"].set_index("radius_over_p")["fraction"]
    dec = part[part["direction"] == "decremental"].set_index("radius_over_p")["fraction"]
    assert inc.iloc[0] == dec.iloc[0] == 2 / 3  # samples 0 and 2 consistent
    assert at(inc, 1 / 8) == 1 / 3 and at(dec, 1 / 8) == 2 / 3  # incremental flips = sample, decremental 2
    accuracy = masked_accuracy(e1)
    assert (accuracy["masked_accuracy"] == 1.0).all()  # pred_a_0 = label
    assert np.allclose(accuracy["full_accuracy"], 2 / 3)
    e3 = pd.DataFrame({"dataset": "d", "model": "m", "sample": [0, 1, 0, 1], "method": "shap",
                       "with_mu": [False, False, True, True], "lambda": 0.25, "k_over_p": [0.5, 1.0, 0.25, 0.25],
                       "certified": [True, False, True, True]})
    summary = sparsity_summary(e3)
    assert summary["mean_k_over_p"].tolist() == [0.75, 0.25]
    table = attack_table([2, np.inf, 0, 3], [1, 2, 5, 3], [1, 2, 0, 2], [1, 1, 0, 2])
    for fig in (e1_main_figure(e1_main_curves(e1, table)), e1_grid_figure(curves), e3_figure(summary),
                masked_accuracy_figure(accuracy)):
        fig.savefig(tmp_path / "f.png")
        assert (tmp_path / "f.png").stat().st_size > 1000
