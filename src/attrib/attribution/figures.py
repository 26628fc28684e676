"""Figures of the attribution experiments: example maps, DiffID and ground truth, the
deletion/insertion curves."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrib.attribution.registry import path_family
from attrib.figures import _colour_scale, _panels, plt, sns


def attribution_examples_figure(images, features, titles, labels, tokens=None) -> plt.Figure:
    """Grid: rows are inputs, columns the input then one attribution per (model, method).

    ``features`` is (columns, rows, p). Images show the patch grid; text shows one coloured
    strip per (model, method) over the input's tokens, each scaled to its own maximum.
    """
    n_cols, n_rows = len(titles), len(labels)
    if tokens is None:
        fig, axes = plt.subplots(n_rows, n_cols + 1, figsize=(1.6 * (n_cols + 1), 1.6 * n_rows), squeeze=False)
        side = int(round(features.shape[-1] ** 0.5))
        for r in range(n_rows):
            axes[r, 0].imshow(images[r].permute(1, 2, 0).numpy())
            axes[r, 0].set_ylabel(labels[r], fontsize=7)
            for c in range(n_cols):
                grid = features[c, r].reshape(side, side).numpy()
                axes[r, c + 1].imshow(grid, **_colour_scale(grid))
                axes[r, c + 1].grid(False)
        for c, title in enumerate(["input", *titles]):
            axes[0, c].set_title(title, fontsize=7)
        for ax in axes.flat:
            ax.set_xticks([])
            ax.set_yticks([])
        fig.tight_layout()
        return fig
    width = max(6.0, 0.32 * max(map(len, tokens)))
    fig, axes = plt.subplots(n_rows, 1, figsize=(width, (0.3 * n_cols + 1.3) * n_rows), squeeze=False)
    for r in range(n_rows):
        ax = axes[r, 0]
        strip = features[:, r, : len(tokens[r])].numpy()
        strip = strip / np.maximum(np.abs(strip).max(axis=1, keepdims=True), 1e-12)  # each method its own scale
        ax.imshow(strip, aspect="auto", **_colour_scale(strip))
        ax.grid(False)
        ax.set_xticks(range(len(tokens[r])), tokens[r], rotation=60, ha="right", fontsize=6)
        ax.set_yticks(range(n_cols), [t.replace("\n", " · ") for t in titles], fontsize=6)
        ax.set_title(labels[r], fontsize=7, loc="left")
    fig.tight_layout()
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


def faithfulness_figure(summary: pd.DataFrame, auc: pd.DataFrame, truth: pd.DataFrame,
                        pairs: pd.DataFrame) -> plt.Figure:
    """One row per (dataset, model): DiffID area per method, vanilla vs re-calibrated path
    methods, DiffID(r) curves, ground truth."""
    groups = list(auc.groupby(["dataset", "model"], sort=False).groups)
    if not groups:  # DiffID is defined on images only
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.text(0.5, 0.5, "no image dataset in this config: no DiffID", ha="center", va="center")
        ax.set_axis_off()
        return fig
    fig, axes = plt.subplots(len(groups), 4, figsize=(18, 3.8 * len(groups)), squeeze=False)
    for (ax_auc, ax_pair, ax_curve, ax_truth), (dataset, model) in zip(axes, groups):
        def rows(table):
            return table[(table["dataset"] == dataset) & (table["model"] == model)]

        area = rows(auc)
        colour = dict(zip(area["method"], sns.color_palette("husl", len(area))))
        ax_auc.bar(area["method"], area["diffid_logit_auc"], color=[colour[m] for m in area["method"]])
        ax_auc.set(title=f"{dataset} / {model}: DiffID (logit, trapezoid area)", ylabel="area, higher is better")
        ax_auc.tick_params(axis="x", rotation=60, labelsize=6)
        both = rows(pairs)
        if len(both):
            long = both.melt(id_vars="family", value_vars=["vanilla", "recalibrated"], var_name="attribution",
                             value_name="DiffID area")
            sns.barplot(data=long, x="family", y="DiffID area", hue="attribution", ax=ax_pair,
                        palette={"vanilla": "#9e9e9e", "recalibrated": "#d62728"})
            ax_pair.set(title="path methods: vanilla vs re-calibrated", xlabel="")
            ax_pair.tick_params(axis="x", rotation=30, labelsize=7)
            ax_pair.legend(fontsize=7)
        else:
            ax_pair.set_axis_off()
        for method, curve in rows(summary).groupby("method", sort=False):
            ax_curve.plot(curve["ratio"], curve["diffid_logit"], marker=".", color=colour[method], label=method)
        ax_curve.axhline(0, color="grey", lw=0.8)
        ax_curve.set(title="DiffID(r): insertion − deletion", xlabel="ratio r removed", ylabel="logit ratio difference")
        ax_curve.legend(fontsize=5, ncol=2)
        scores = rows(truth)
        if len(scores):
            long = scores.melt(id_vars="method", value_vars=["pointing", "relevance_mass", "mask_auc"],
                               var_name="score", value_name="value")
            sns.barplot(data=long, x="score", y="value", hue="method", ax=ax_truth, palette=colour,
                        hue_order=list(colour))
            ax_truth.set(title="agreement with the digit mask", ylim=(0, 1), xlabel="")
            ax_truth.legend(fontsize=5, ncol=2)
        else:
            ax_truth.set_axis_off()
    fig.tight_layout()
    return fig


def deletion_insertion_figure(auc: pd.DataFrame) -> plt.Figure:
    """The classic curves' areas per method, one panel per (dataset, model): insertion (higher is
    better) and deletion (lower is better) side by side."""
    groups = list(auc.groupby(["dataset", "model"], sort=False).groups)
    fig, axes = _panels(len(groups), width=6.0, height=3.6)
    for ax, (dataset, model) in zip(axes, groups):
        rows = auc[(auc["dataset"] == dataset) & (auc["model"] == model)]
        sns.barplot(data=rows, x="method", y="auc", hue="game", ax=ax, hue_order=["insertion", "deletion"],
                    palette={"insertion": "#2ca02c", "deletion": "#d62728"})
        ax.set(title=f"{dataset} / {model}: {rows['baseline'].iloc[0]} baseline", xlabel="",
               ylabel="area under target probability")
        ax.tick_params(axis="x", rotation=60, labelsize=6)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
