"""Figure tables computed by hand on toy inputs; figures render without error."""

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from attrib.mus.figures import certified_accuracy_curve, certified_accuracy_figure


def test_certified_accuracy_curve_by_hand():
    samples = pd.DataFrame({
        "dataset": "d", "model": "m", "num_features": 4,
        "lambda": [0.5, 0.5, 0.5, 0.25, 0.25],
        "correct": [True, True, False, True, False],
        "radius": [1.0, 0.25, 1.0, 2.0, 2.0],
    })
    curve = certified_accuracy_curve(samples, points=5)  # r = 0, 0.5, 1, 1.5, 2
    half = curve[curve["lambda"] == 0.5]
    assert half["radius"].tolist() == [0, 0.5, 1, 1.5, 2]
    assert half["certified_accuracy"].tolist() == pytest.approx([2 / 3, 1 / 3, 1 / 3, 0, 0])
    assert half["clean_accuracy"].iloc[0] == pytest.approx(2 / 3)
    assert curve[curve["lambda"] == 0.25]["certified_accuracy"].tolist() == pytest.approx([0.5] * 5)
    assert half["radius_over_p"].tolist() == pytest.approx([0, 0.125, 0.25, 0.375, 0.5])
    assert curve["clean_accuracy_retained"].isna().all()  # no λ = 1 to compare with
    certified_accuracy_figure(curve)


def test_clean_accuracy_retained_is_relative_to_lambda_one():
    """Model a keeps 2/4 of its λ = 1 accuracy at λ = ½ (0.5 / 1.0); model b keeps 3/4 (0.375 / 0.5)."""
    correct = {"a": {1.0: [1, 1, 1, 1, 1, 1, 1, 1], 0.5: [1, 1, 1, 1, 0, 0, 0, 0]},
               "b": {1.0: [1, 1, 1, 1, 0, 0, 0, 0], 0.5: [1, 1, 1, 0, 0, 0, 0, 0]}}
    samples = pd.DataFrame([
        {"dataset": "d", "model": m, "num_features": 4, "lambda": lam, "correct": bool(c), "radius": 0.5}
        for m, per_lambda in correct.items() for lam, flags in per_lambda.items() for c in flags
    ])
    curve = certified_accuracy_curve(samples, points=3)
    kept = curve.groupby(["model", "lambda"])["clean_accuracy_retained"].first()
    assert kept.to_dict() == pytest.approx({("a", 0.5): 0.5, ("a", 1.0): 1.0, ("b", 0.5): 0.75, ("b", 1.0): 1.0})
    two_datasets = pd.concat([curve, curve.assign(dataset="e", model="c")])
    fig = certified_accuracy_figure(two_datasets)
    assert len(fig.axes) == 6  # per dataset: two model panels (one blank for e) and the retained panel
    plt.close(fig)


def test_recalibration_pairs_match_vanilla_with_recalibrated():
    from attrib.attribution.figures import deletion_insertion_figure, faithfulness_figure, recalibration_pairs

    auc = pd.DataFrame({
        "dataset": "d", "model": "m",
        "method": ["intgrad", "intgrad_recal", "intgrad_sg", "intgrad_sg_recal", "expgrad", "saliency"],
        "registry": ["intgrad", "intgrad_path", "intgrad_sg", "intgrad_sg", "expgrad", "saliency"],
        "recalibrate": [False, True, False, True, False, False],
        "diffid_logit_auc": [0.5, 0.6, 0.3, 0.2, 0.4, 0.1],
    })
    pairs = recalibration_pairs(auc)
    # captum's intgrad is the vanilla intgrad_path; expgrad ran one way only; saliency is no path method
    assert pairs["family"].tolist() == ["intgrad_path", "intgrad_sg"]
    assert pairs["vanilla"].tolist() == [0.5, 0.3]
    assert pairs["recalibrated"].tolist() == [0.6, 0.2]
    summary = pd.DataFrame({"dataset": "d", "model": "m", "method": "intgrad", "ratio": [0.1, 0.2],
                            "diffid_logit": [0.1, 0.2]})
    truth = pd.DataFrame(columns=["dataset", "model", "method", "pointing", "relevance_mass", "mask_auc"])
    assert isinstance(faithfulness_figure(summary, auc, truth, pairs), plt.Figure)
    faithfulness_figure(summary.iloc[:0], auc.iloc[:0], truth, pairs.iloc[:0])  # text-only configs
    curves = pd.DataFrame({"dataset": "d", "model": "m", "method": ["a", "a"], "game": ["insertion", "deletion"],
                           "baseline": "black", "auc": [0.7, 0.2]})
    assert isinstance(deletion_insertion_figure(curves), plt.Figure)


def test_missingness_figures_render_from_their_tables():
    from attrib.missingness.ablation import ablation_summary, top_classes, topk_summary
    from attrib.missingness.figures import missingness_classes_figure, missingness_modes_figure, missingness_orders_figure, text_missingness_figure, topk_figure

    rows = []
    for model, removal in (("resnet", "black"), ("vit", "drop")):
        for order in ("random", "saliency"):
            for removed in (0, 2, 4):
                for image in range(4):
                    pred = image if removed == 0 or removal == "drop" else 0
                    rows.append({"dataset": "d", "model": model, "removal": removal, "order": order, "image": image,
                                 "removed": removed, "fraction_removed": removed / 4, "pred": pred,
                                 "unchanged": pred == image, "prob_orig": 0.5})
    samples = pd.DataFrame(rows)
    curve = ablation_summary(samples, ["dataset", "model", "removal", "order"])
    curve["num_classes"] = 4
    black = curve[(curve["removal"] == "black") & (curve["removed"] == 4)]
    assert black["unchanged"].tolist() == [0.25, 0.25] and black["class_entropy_bits"].tolist() == [0, 0]
    top = top_classes(samples[samples["order"] == "random"], ["dataset", "model", "removal"], top=2)
    assert top[top["removal"] == "black"]["share"].tolist() == [1.0]
    top["class_name"] = top["class"].astype(str)
    assert isinstance(missingness_orders_figure(curve), plt.Figure)
    assert isinstance(missingness_modes_figure(curve[curve["order"] == "random"]), plt.Figure)
    assert isinstance(missingness_classes_figure(curve[curve["order"] == "random"], top), plt.Figure)
    assert isinstance(text_missingness_figure(curve), plt.Figure)

    topk = pd.DataFrame([
        {"dataset": "d", "model": "m", "removal": "black", "test": test, "source": source, "source_kind": kind,
         "k": k, "image": 0, "pred": 0, "unchanged": k < 3 or kind == "random", "prob_orig": 0.5}
        for test in ("remove", "keep") for source, kind in (("m:black", "own"), ("random", "random"))
        for k in (1, 3, 5)
    ])
    topk_curve = ablation_summary(topk, ["dataset", "model", "removal", "test", "source", "source_kind"], step="k")
    summary = topk_summary(topk_curve)
    assert summary.columns.tolist()[-3:] == ["unchanged_after_1", "unchanged_after_3", "unchanged_after_5"]
    assert summary["unchanged_after_5"].tolist() == [0.0, 1.0]
    assert isinstance(topk_figure(topk_curve), plt.Figure)
