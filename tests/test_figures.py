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


def test_colours_are_fixed_per_name_and_derived_for_variants():
    from attrib.figures import METHOD_COLOURS, lambda_colour, method_colour, method_label, removal_colour

    known = {k: v for k, v in METHOD_COLOURS.items() if k != "intgrad_path"}  # intgrad_path is intgrad
    assert len(set(known.values())) == len(known)
    assert method_colour("intgrad_path") == method_colour("intgrad")
    assert method_colour("expgrad_recal") not in (method_colour("expgrad"), *known.values())
    # a name the module has never seen gets one colour, the same in every call (not hash())
    assert method_colour("my_new_method") == method_colour("my_new_method") != method_colour("my_other_method")
    assert removal_colour("smudge") == removal_colour("smudge")
    assert lambda_colour(0.25) != lambda_colour(0.125) and lambda_colour(1) == lambda_colour(1.0)
    assert [method_label(m) for m in ("intgrad", "intgrad_path", "intgrad_recal", "xyz", "xyz_recal")] == [
        "IntGrad", "IntGrad", "IntGrad re-cal.", "xyz", "xyz re-cal."]


def test_lambda_labels_are_plain_fractions():
    from attrib.figures import format_lambda

    assert [format_lambda(x) for x in (1, 0.5, 0.375, 0.25, 0.125, 0.0625)] == ["1", "1/2", "3/8", "1/4", "1/8", "1/16"]
    assert format_lambda(0.123456) == "0.123456"


def test_a_removal_mode_has_one_colour_in_every_panel():
    """The bug this guards against: each panel cycled its own colours, so `blur` changed colour."""
    from matplotlib.colors import to_hex

    from attrib.figures import removal_colour
    from attrib.missingness.figures import missingness_modes_figure

    level = {"black": 0.2, "blur": 0.95, "noise": 0.5, "drop": 0.7}
    panels = {"resnet": ["black", "blur"], "vit": ["noise", "drop", "blur"]}  # blur second, then third
    curve = pd.DataFrame([
        {"dataset": "d", "model": model, "removal": removal, "order": "random", "removed": r,
         "fraction_removed": r / 4, "unchanged": level[removal], "images": 20, "num_classes": 10}
        for model, removals in panels.items() for removal in removals for r in (1, 2, 3)])
    fig = missingness_modes_figure(curve)
    seen = 0
    for ax in fig.axes:
        for line in ax.get_lines():
            y = set(map(float, line.get_ydata()))
            if len(y) == 1 and y.pop() in level.values() and line.get_gid() != "reference":
                removal = next(m for m, v in level.items() if v == line.get_ydata()[0])
                assert to_hex(line.get_color()) == removal_colour(removal), removal
                seen += 1
    assert seen == 5
    plt.close(fig)


def test_blur_that_removes_nothing_is_labelled_as_such():
    from attrib.missingness.figures import missingness_modes_figure

    def notes(blur_unchanged):
        curve = pd.DataFrame([
            {"dataset": "d", "model": "resnet", "removal": removal, "order": "random", "removed": r,
             "fraction_removed": r / 4, "unchanged": blur_unchanged if removal == "blur" else 0.3, "images": 20,
             "num_classes": 10, "image_size": 32, "blur_kernel": 3, "blur_sigma": 1.43}
            for removal in ("black", "blur") for r in (0, 2, 4)])
        fig = missingness_modes_figure(curve)
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        plt.close(fig)
        return [t for t in texts if "blur" in t]

    assert "kernel 3, σ 1.43" in notes(0.99)[0] and "99% unchanged" in notes(0.99)[0]
    assert notes(0.5) == []


def test_few_samples_are_points_with_their_n_and_many_a_curve():
    import numpy as np

    from attrib.mus.figures import attack_curves, e1_main_figure

    def figure(n):
        return e1_main_figure(attack_curves(pd.DataFrame({
            "dataset": "d", "model": "m", "sample": range(n), "method": "shap", "top_fraction": 0.25,
            "mode": "voting", "with_mu": False, "lambda": 0.25, "num_features": 8, "consistent": True,
            "certified_consistent": True, "r_max_incremental": 3, "r_max_decremental": 3,
            "flips_incremental": np.arange(n) % 3, "flips_decremental": 2})).assign(q=16))

    few, many = figure(4), figure(12)
    styles = {line.get_linestyle() for line in few.axes[0].get_lines()}
    assert styles == {"None"}
    # one point per level of the step curve, not one per grid point
    assert max(len(line.get_xdata()) for line in few.axes[0].get_lines()) <= 4
    assert any("n = 4 per λ: points" in t.get_text() for t in few.axes[0].texts)
    assert {line.get_linestyle() for line in many.axes[0].get_lines()} == {"-"}
    assert any(t.get_text() == "n = 12 per λ" for t in many.axes[0].texts)
    plt.close("all")


def test_accuracy_panels_draw_the_chance_level_of_their_dataset():
    from attrib.mus.figures import certified_accuracy_figure

    curve = pd.DataFrame([
        {"dataset": d, "model": "m", "lambda": lam, "radius": r, "radius_over_p": r / 4, "certified_accuracy": 0.5,
         "clean_accuracy": 0.5, "clean_accuracy_retained": 1.0, "samples": 20, "num_classes": c}
        for d, c in (("digits", 10), ("tweets", 3)) for lam in (1.0, 0.5) for r in (0, 0.5, 1)])
    fig = certified_accuracy_figure(curve)
    levels = [{round(float(line.get_ydata()[0]), 4) for line in ax.get_lines() if line.get_gid() == "reference"}
              for ax in fig.axes if ax.get_title().endswith("E2 certified accuracy")]
    assert levels == [{0.1}, {0.3333}]
    plt.close(fig)


def test_example_maps_table_and_figure():
    import numpy as np
    import torch

    from attrib.attribution.figures import attribution_examples_figure, examples_table

    features = {"saliency": np.abs(np.arange(32.0).reshape(2, 16)), "lime": -np.arange(32.0).reshape(2, 16)}
    table = examples_table(features, targets=[1, 2], labels=[1, 0], classes=["zero", "one", "two"])
    assert len(table) == 2 * 2 * 16
    row = table[(table["method"] == "lime") & (table["example"] == 1) & (table["feature"] == 3)].iloc[0]
    assert (row["value"], row["target_name"], row["label_name"]) == (-19.0, "two", "zero")
    table.insert(0, "model", "m")
    table.insert(0, "dataset", "d")
    fig = attribution_examples_figure(table, images=torch.rand(2, 3, 8, 8))
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["explains 'one'", "explains 'two'\n(label 'zero')"]
    assert sum(ax.get_label() == "<colorbar>" for ax in fig.axes) == 2  # one per method row
    plt.close(fig)
    tokens = [["a", "b", "c"], ["d", "e"]]
    fig = attribution_examples_figure(table, tokens=tokens)
    assert [ax.get_xticklabels()[-1].get_text() for ax in fig.axes if ax.get_label() != "<colorbar>"] == ["c", "e"]
    plt.close(fig)
