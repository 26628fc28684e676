"""Figures of the missingness experiments: predictions unchanged as features are removed, per
order and removal mode, the class shift, the LIME top-K test and the text analogue."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrib.figures import _panels, plt, sns


def _condition(model: str, removal: str) -> str:
    return f"{model} ({removal})"


def _unchanged_axes(ax, title: str, ylabel: str = "fraction of predictions unchanged"):
    ax.set(title=title, xlabel="fraction of features removed", ylabel=ylabel, ylim=(0, 1.02))
    ax.legend(fontsize=7)


def missingness_orders_figure(curve: pd.DataFrame) -> plt.Figure:
    """Fraction of predictions unchanged vs features removed: one row per dataset, one panel per
    order, one line per model (removal mode)."""
    datasets = list(dict.fromkeys(curve["dataset"]))
    orders = list(dict.fromkeys(curve["order"]))
    fig, axes = plt.subplots(len(datasets), len(orders), figsize=(4 * len(orders), 3.3 * len(datasets)),
                             squeeze=False)
    for row, dataset in zip(axes, datasets):
        for ax, order in zip(row, orders):
            table = curve[(curve["dataset"] == dataset) & (curve["order"] == order)]
            for (model, removal), line in table.groupby(["model", "removal"], sort=False):
                ax.plot(line["fraction_removed"], line["unchanged"], marker=".", label=_condition(model, removal))
            _unchanged_axes(ax, f"{dataset}: {order} order")
    fig.tight_layout()
    return fig


def missingness_modes_figure(curve: pd.DataFrame) -> plt.Figure:
    """Random order: one panel per (dataset, model), one line per removal mode."""
    groups = list(curve.groupby(["dataset", "model"], sort=False))
    fig, axes = _panels(len(groups))
    for ax, ((dataset, model), table) in zip(axes, groups):
        for removal, line in table.groupby("removal", sort=False):
            style = "-" if removal == "drop" else "--"
            ax.plot(line["fraction_removed"], line["unchanged"], style, marker=".", label=removal)
        _unchanged_axes(ax, f"{dataset} / {model}: random order")
    fig.tight_layout()
    return fig


def missingness_classes_figure(curve: pd.DataFrame, top: pd.DataFrame) -> plt.Figure:
    """Per dataset: predicted-class entropy vs features removed (random order), then per
    condition the most-predicted classes at about half removed, beside their share at 0 %."""
    datasets = list(dict.fromkeys(curve["dataset"]))
    conditions = max(len(top[top["dataset"] == d].groupby(["model", "removal"])) for d in datasets)
    fig, axes = plt.subplots(len(datasets), 1 + conditions, figsize=(4 * (1 + conditions), 3.3 * len(datasets)),
                             squeeze=False)
    for row, dataset in zip(axes, datasets):
        table = curve[curve["dataset"] == dataset]
        for (model, removal), line in table.groupby(["model", "removal"], sort=False):
            row[0].plot(line["fraction_removed"], line["class_entropy_bits"], marker=".",
                        label=_condition(model, removal))
        uniform = np.log2(table["num_classes"].iloc[0]) if "num_classes" in table else None
        if uniform is not None:
            row[0].axhline(uniform, color="grey", lw=0.8, ls=":", label="uniform over classes")
        row[0].set(title=f"{dataset}: predicted-class entropy", xlabel="fraction of features removed",
                   ylabel="entropy (bits)", ylim=(0, None))
        row[0].legend(fontsize=7)
        bars = top[top["dataset"] == dataset]
        for ax, ((model, removal), part) in zip(row[1:], bars.groupby(["model", "removal"], sort=False)):
            pos = np.arange(len(part))
            ax.bar(pos - 0.2, part["share"], width=0.4, label=f"{part['fraction_removed'].iloc[0]:.0%} removed")
            ax.bar(pos + 0.2, part["share_at_0"], width=0.4, label="0 % removed")
            ax.set_xticks(pos, part["class_name"].astype(str), rotation=30, fontsize=7)
            ax.set(title=f"{_condition(model, removal)}: most-predicted classes", ylabel="share of images",
                   ylim=(0, 1))
            ax.legend(fontsize=7)
        for ax in row[1 + len(bars.groupby(["model", "removal"])):]:
            ax.axis("off")
    fig.tight_layout()
    return fig


def topk_figure(curve: pd.DataFrame) -> plt.Figure:
    """LIME top-K test: one row per (dataset, evaluating model), panels remove / keep top-k,
    one line per explanation source (own LIME, the other model's LIME, random order)."""
    groups = list(curve.groupby(["dataset", "model", "removal"], sort=False))
    fig, axes = plt.subplots(len(groups), 2, figsize=(9, 3.3 * len(groups)), squeeze=False)
    for (ax_remove, ax_keep), ((dataset, model, removal), table) in zip(axes, groups):
        for ax, test in ((ax_remove, "remove"), (ax_keep, "keep")):
            for (source, kind), line in table[table["test"] == test].groupby(["source", "source_kind"], sort=False):
                label = "random order" if kind == "random" else f"LIME of {source} ({kind})"
                ax.plot(line["k"], line["unchanged"], marker=".", label=label, ls="-" if kind == "own" else "--")
            ax.set(title=f"{dataset}: {_condition(model, removal)}, {test} top-k", xlabel="k (features)",
                   ylabel="fraction of predictions unchanged", ylim=(0, 1.02))
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def text_missingness_figure(curve: pd.DataFrame) -> plt.Figure:
    """Text analogue: tokens replaced by [MASK] vs deleted, one panel per (dataset, model,
    order); fraction unchanged (solid) and predicted-class entropy (dotted, right axis)."""
    groups = list(curve.groupby(["dataset", "model", "order"], sort=False))
    fig, axes = _panels(len(groups))
    for ax, ((dataset, model, order), table) in zip(axes, groups):
        right = ax.twinx()
        right.grid(False)
        for (removal, line), colour in zip(table.groupby("removal", sort=False), sns.color_palette()):
            ax.plot(line["fraction_removed"], line["unchanged"], marker=".", color=colour, label=removal)
            right.plot(line["fraction_removed"], line["class_entropy_bits"], ls=":", color=colour)
        right.set_ylabel("predicted-class entropy (bits, dotted)")
        right.set_ylim(0, None)
        _unchanged_axes(ax, f"{dataset} / {model}: {order} order")
    fig.tight_layout()
    return fig
