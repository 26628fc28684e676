"""Figures of the attribution experiments: example maps, DiffID and ground truth, the
deletion/insertion curves."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrib.attribution.registry import path_family
from attrib.figures import _colour_scale, method_colour, method_label, method_palette, plt, show_n, sns


def examples_table(features: dict, targets, labels, classes) -> pd.DataFrame:
    """Tidy rows (method, example, feature, value) of one model's example maps, with the class
    each map explains (``target``, the prediction unless the config explains labels) and the
    true label, by index and name."""
    rows = []
    for method, values in features.items():
        values = np.asarray(values, dtype=float)
        n, p = values.shape
        rows.append(pd.DataFrame({"method": method, "example": np.repeat(np.arange(n), p),
                                  "feature": np.tile(np.arange(p), n), "value": values.ravel()}))
    table = pd.concat(rows, ignore_index=True)
    targets, labels = np.asarray(targets), np.asarray(labels)
    table["target"] = targets[table["example"]]
    table["label"] = labels[table["example"]]
    table["target_name"] = [str(classes[t]) for t in table["target"]]
    table["label_name"] = [str(classes[y]) for y in table["label"]]
    return table


def _example_title(part: pd.DataFrame) -> str:
    target, label = part["target_name"].iloc[0], part["label_name"].iloc[0]
    return f"explains {target!r}" + ("" if target == label else f"\n(label {label!r})")


def _patch_grid(ax, side: int, size: int) -> None:
    for edge in np.arange(1, side) * size / side - 0.5:
        ax.axhline(edge, color="white", lw=0.4, alpha=0.6)
        ax.axvline(edge, color="white", lw=0.4, alpha=0.6)


def attribution_examples_figure(table: pd.DataFrame, images=None, tokens=None) -> plt.Figure:
    """One model's example attributions from :func:`examples_table`.

    Images: columns are inputs, titled with the class explained; the first row shows the input,
    every further row one method's feature map over the greyed input with the patch grid, on one
    colour scale per row (its colour bar at the right). Text: one panel per input, a strip per
    method over its tokens, each method scaled to its own maximum |value|.
    """
    methods = list(dict.fromkeys(table["method"]))
    examples = sorted(table["example"].unique())
    dataset, model = table["dataset"].iloc[0], table["model"].iloc[0]
    if tokens is None:
        fig, axes = plt.subplots(len(methods) + 1, len(examples), squeeze=False, layout="constrained",
                                 figsize=(1.45 * len(examples) + 1.6, 1.45 * (len(methods) + 1) + 0.4))
        size = images.shape[-1]
        p = int(table["feature"].max()) + 1
        side = int(round(p ** 0.5))
        for c, example in enumerate(examples):
            image = images[example].permute(1, 2, 0).numpy()
            axes[0, c].imshow(image)
            _patch_grid(axes[0, c], side, size)
            axes[0, c].set_title(_example_title(table[table["example"] == example]), fontsize=7)
            grey = image.mean(axis=2)
            for r, method in enumerate(methods, start=1):
                axes[r, c].imshow(grey, cmap="gray", vmin=0, vmax=1)
        for r, method in enumerate(methods, start=1):
            rows = table[table["method"] == method]
            scale = _colour_scale(rows["value"].to_numpy())
            for c, example in enumerate(examples):
                values = rows[rows["example"] == example].sort_values("feature")["value"].to_numpy()
                grid = values.reshape(side, side)
                mappable = axes[r, c].imshow(grid, extent=(-0.5, size - 0.5, size - 0.5, -0.5), alpha=0.75,
                                             interpolation="nearest", **scale)
                _patch_grid(axes[r, c], side, size)
            fig.colorbar(mappable, ax=axes[r, :].tolist(), shrink=0.85, pad=0.01, aspect=12).ax.tick_params(labelsize=6)
            axes[r, 0].set_ylabel(method_label(method), fontsize=8, color=method_colour(method), rotation=0,
                                  ha="right", va="center")
        axes[0, 0].set_ylabel("input", fontsize=8, rotation=0, ha="right", va="center")
        for ax in axes.flat:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
        fig.suptitle(f"{dataset} / {model}: feature attributions on {len(examples)} test inputs "
                     "(one colour scale per method)", fontsize=9)
        return fig
    width = max(6.0, 0.3 * max(map(len, tokens)) + 2)
    fig, axes = plt.subplots(len(examples), 1, figsize=(width, (0.17 * len(methods) + 1.0) * len(examples)),
                             squeeze=False, layout="constrained")
    for ax, example in zip(axes[:, 0], examples):
        part = table[table["example"] == example]
        words = tokens[example]
        strip = np.stack([part[part["method"] == m].sort_values("feature")["value"].to_numpy()[: len(words)]
                          for m in methods])
        strip = strip / np.maximum(np.abs(strip).max(axis=1, keepdims=True), 1e-12)  # each method its own scale
        mappable = ax.imshow(strip, aspect="auto", **_colour_scale(strip))
        ax.grid(False)
        ax.set_xticks(range(len(words)), words, rotation=60, ha="right", fontsize=6)
        ax.set_yticks(range(len(methods)), [method_label(m) for m in methods], fontsize=6)
        for tick, method in zip(ax.get_yticklabels(), methods):
            tick.set_color(method_colour(method))
        ax.set_title(f"{dataset} / {model}, input {example}: {_example_title(part)}".replace("\n", " "),
                     fontsize=7, loc="left")
        fig.colorbar(mappable, ax=ax, pad=0.01, aspect=10, label="÷ max |value|\nof the method").ax.tick_params(
            labelsize=6)
    return fig


def recalibration_pairs(auc: pd.DataFrame) -> pd.DataFrame:
    """DiffID areas of the path methods that ran both ways, side by side: one row per
    (dataset, model, family) with ``vanilla`` and ``recalibrated`` columns."""
    rows = auc.assign(family=auc["registry"].map(path_family)).dropna(subset=["family"])
    rows = rows.assign(kind=np.where(rows["recalibrate"].astype(bool), "recalibrated", "vanilla"))
    wide = rows.pivot_table(index=["dataset", "model", "family"], columns="kind", values="diffid_logit_auc",
                            aggfunc="first", sort=False)
    if not {"vanilla", "recalibrated"} <= set(wide.columns):
        return pd.DataFrame(columns=["dataset", "model", "family", "vanilla", "recalibrated"])
    return wide.dropna(subset=["vanilla", "recalibrated"])[["vanilla", "recalibrated"]].reset_index()


def _images(table: pd.DataFrame):
    """The n column of a score table (``images``), None where it has none."""
    return table["images"].to_numpy() if "images" in table and len(table) else None


def faithfulness_figure(summary: pd.DataFrame, auc: pd.DataFrame, truth: pd.DataFrame,
                        pairs: pd.DataFrame) -> plt.Figure:
    """One row per (dataset, model): DiffID area per method, vanilla vs re-calibrated path
    methods, DiffID(r) curves, ground truth; a method has one colour and name throughout."""
    groups = list(auc.groupby(["dataset", "model"], sort=False).groups)
    if not groups:  # DiffID is defined on images only
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.text(0.5, 0.5, "no image dataset in this config: no DiffID", ha="center", va="center")
        ax.set_axis_off()
        return fig
    fig, axes = plt.subplots(len(groups), 4, figsize=(20, 4.2 * len(groups)), squeeze=False,
                             gridspec_kw={"width_ratios": [1.2, 0.8, 1.0, 1.0]})
    for (ax_auc, ax_pair, ax_curve, ax_truth), (dataset, model) in zip(axes, groups):
        def rows(table):
            return table[(table["dataset"] == dataset) & (table["model"] == model)]

        area = rows(auc)
        names = [method_label(m) for m in area["method"]]
        ax_auc.bar(names, area["diffid_logit_auc"], color=[method_colour(m) for m in area["method"]])
        ax_auc.axhline(0, color="grey", lw=0.8)
        ax_auc.set(title=f"{dataset} / {model}: DiffID area (logit ratio)",
                   ylabel="DiffID area, higher is better")
        ax_auc.tick_params(axis="x", rotation=60, labelsize=7)
        for tick in ax_auc.get_xticklabels():
            tick.set_ha("right")
        if _images(area) is not None:
            show_n(ax_auc, _images(area), extra=" images", in_title=True)
        both = rows(pairs)
        if len(both):
            pos = np.arange(len(both))
            for offset, kind, suffix in ((-0.2, "vanilla", ""), (0.2, "recalibrated", "_recal")):
                ax_pair.bar(pos + offset, both[kind], width=0.4, hatch="" if suffix == "" else "//",
                            color=[method_colour(f + suffix) for f in both["family"]], edgecolor="white",
                            label="re-calibrated (darker, hatched)" if suffix else "vanilla")
            ax_pair.set_xticks(pos, [method_label(f) for f in both["family"]], rotation=30, ha="right", fontsize=7)
            ax_pair.axhline(0, color="grey", lw=0.8)
            ax_pair.set(title=f"{dataset} / {model}: path methods, vanilla vs re-calibrated",
                        ylabel="DiffID area, higher is better")
            ax_pair.legend(fontsize=7)
        else:
            ax_pair.set_axis_off()
        for method, curve in rows(summary).groupby("method", sort=False):
            ax_curve.plot(curve["ratio"], curve["diffid_logit"], marker=".", color=method_colour(method),
                          label=method_label(method))
        ax_curve.axhline(0, color="grey", lw=0.8)
        ax_curve.set(title=f"{dataset} / {model}: DiffID(r), insertion − deletion", xlabel="ratio r of pixels moved",
                     ylabel="logit-ratio difference")
        scores = rows(truth)
        if len(scores):
            long = scores.assign(method=[method_label(m) for m in scores["method"]]).melt(
                id_vars="method", value_vars=["pointing", "relevance_mass", "mask_auc"], var_name="score",
                value_name="value")
            long["score"] = long["score"].map({"pointing": "pointing game", "relevance_mass": "relevance mass",
                                               "mask_auc": "mask ROC-AUC"})
            sns.barplot(data=long, x="score", y="value", hue="method", ax=ax_truth,
                        palette=method_palette(scores["method"]), hue_order=[method_label(m) for m in scores["method"]],
                        legend=False)
            ax_truth.set(title=f"{dataset} / {model}: inside the digit mask?", ylim=(0, 1), xlabel="",
                         ylabel="score (higher = inside the digit)")
            if _images(scores) is not None:
                show_n(ax_truth, _images(scores), extra=" images", in_title=True)
        else:
            ax_truth.set_axis_off()
        ax_curve.legend(fontsize=6, ncol=1, loc="upper left", bbox_to_anchor=(1.0, 1.0) if not len(scores) else None)
    fig.tight_layout()
    return fig


def deletion_insertion_figure(auc: pd.DataFrame) -> plt.Figure:
    """The classic curves' areas per method, one panel per (dataset, model) wrapped two per row:
    insertion (higher is better) and deletion (lower is better) side by side."""
    table = auc.assign(panel=[f"{d} / {m}: {b} baseline" for d, m, b in zip(auc["dataset"], auc["model"], auc["baseline"])],
                       method_name=[method_label(m) for m in auc["method"]])
    grid = sns.catplot(data=table, x="method_name", y="auc", hue="game", col="panel",
                       col_wrap=min(2, table["panel"].nunique()), kind="bar", hue_order=["insertion", "deletion"],
                       palette={"insertion": "#2ca02c", "deletion": "#d62728"}, height=3.6, aspect=1.6,
                       sharex=False, errorbar=None)
    for panel, ax in grid.axes_dict.items():
        part = table[table["panel"] == panel]
        ax.set_title(panel)
        ax.set(xlabel="", ylabel="area under the target probability", ylim=(0, 1))
        ax.tick_params(axis="x", rotation=60, labelsize=7)
        for tick in ax.get_xticklabels():
            tick.set_ha("right")
        if _images(part) is not None:
            show_n(ax, _images(part), extra=" inputs", in_title=True)
    grid.set_ylabels("area under the target probability")
    grid.tight_layout()  # after rotating the method names, which need the room
    return grid.figure
