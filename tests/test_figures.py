"""Figure tables computed by hand on toy inputs; figures render without error."""

import pandas as pd
import pytest

from attrib.figures import ablation_curve, ablation_figure, certified_accuracy_curve, certified_accuracy_figure


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
    certified_accuracy_figure(curve)


def test_ablation_curve_entropy_and_unchanged():
    samples = pd.DataFrame({
        "dataset": "d", "model": "m", "removal": "black",
        "removed": [0, 0, 0, 0, 4, 4, 4, 4],
        "fraction_removed": [0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5],
        "pred": [0, 1, 2, 3, 0, 0, 0, 1],
        "unchanged": [True] * 4 + [True, False, False, False],
        "prob_orig": [1.0] * 8,
    })
    curve = ablation_curve(samples)
    assert curve["class_entropy_bits"].tolist() == pytest.approx([2.0, 0.8112781244591328])
    assert curve["unchanged"].tolist() == [1.0, 0.25]
    ablation_figure(curve)


def test_recalibration_pairs_match_vanilla_with_recalibrated():
    from attrib.figures import deletion_insertion_figure, faithfulness_figure, recalibration_pairs

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
    faithfulness_figure(summary, auc, truth, pairs)
    faithfulness_figure(summary.iloc[:0], auc.iloc[:0], truth, pairs.iloc[:0])  # text-only configs
    curves = pd.DataFrame({"dataset": "d", "model": "m", "method": ["a", "a"], "game": ["insertion", "deletion"],
                           "baseline": "black", "auc": [0.7, 0.2]})
    deletion_insertion_figure(curves)
