"""Figures of the missingness experiments: predictions unchanged as features are removed, per
order and removal mode, the class shift, the LIME top-K test and the text analogue. A removal
mode has one colour in all of them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrib.catalogue import parse_order
from attrib.figures import (
    chance_line,
    first_value,
    method_label,
    plt,
    points_where_few,
    removal_colour,
    removal_order,
    removal_palette,
    show_n,
    sns,
)

UNCHANGED = "fraction of predictions unchanged"
REMOVED = "fraction of features removed"
# Chance for "unchanged": a prediction unrelated to the original one agrees with it 1/C of the time.
UNRELATED = "unrelated predictions"


def _condition(model: str, removal: str) -> str:
    return f"{model} ({removal})"


def order_name(order: str) -> str:
    """``random order``, ``saliency: most salient first``, ``lime: least salient first``."""
    method, descending = parse_order(order)
    if method is None:
        return "random order"
    return f"{method_label(method)} order, {'most' if descending else 'least'} salient first"


def _counts(table: pd.DataFrame):
    return table["images"].to_numpy() if "images" in table else []


def _finish_panel(ax, part: pd.DataFrame, title: str) -> None:
    chance_line(ax, first_value(part, "num_classes"), UNRELATED)
    n = _counts(part)
    if len(n):
        points_where_few(ax, int(np.min(n)))
        show_n(ax, n, extra=" inputs")
    ax.set(title=title, xlabel=REMOVED, ylabel=UNCHANGED, ylim=(0, 1.02))


def _relplot(curve: pd.DataFrame, **kwargs):
    """Unchanged vs removed, coloured by removal mode, styled by model."""
    removals = removal_order(curve["removal"])
    return sns.relplot(data=curve, x="fraction_removed", y="unchanged", hue="removal", hue_order=removals,
                       palette=removal_palette(removals), kind="line", marker="o", markersize=4, height=3.2,
                       aspect=1.2, **kwargs)


def missingness_orders_figure(curve: pd.DataFrame) -> plt.Figure:
    """Fraction of predictions unchanged vs features removed: one row per dataset, one panel per
    order; colour: removal mode, line style: model."""
    curve = curve.assign(order_name=curve["order"].map(order_name))
    grid = _relplot(curve, row="dataset", col="order_name", style="model",
                    col_order=list(dict.fromkeys(curve["order_name"])), facet_kws={"sharex": True, "sharey": True})
    for (dataset, order), ax in grid.axes_dict.items():
        part = curve[(curve["dataset"] == dataset) & (curve["order_name"] == order)]
        _finish_panel(ax, part, f"{dataset}: {order}")
    grid.set_axis_labels(REMOVED, UNCHANGED)
    return grid.figure


def _blur_note(part: pd.DataFrame) -> str | None:
    """Where the blurred copy leaves nearly every prediction as it was with every patch
    blurred, say that this blur does not remove the content (the paper's kernel, scaled)."""
    blur = part[part["removal"] == "blur"]
    if not len(blur) or "blur_kernel" not in blur:
        return None
    last = blur.loc[blur["fraction_removed"].idxmax()]
    if last["unchanged"] < 0.9:
        return None
    return (f"blur = Gaussian, kernel {int(last['blur_kernel'])}, σ {last['blur_sigma']:.2f}\n"
            f"(the paper's 21 / σ 10 at 224 px, scaled to {int(last['image_size'])} px):\n"
            f"{last['unchanged']:.0%} unchanged with all blurred,\nso it hardly removes anything here")


def missingness_modes_figure(curve: pd.DataFrame) -> plt.Figure:
    """Random order: one panel per (dataset, model), one line per removal mode (colour fixed per
    mode); a note where ``blur`` leaves the predictions as they were."""
    curve = curve.assign(panel=[f"{d} / {m}: random order" for d, m in zip(curve["dataset"], curve["model"])])
    panels = list(dict.fromkeys(curve["panel"]))
    grid = _relplot(curve, col="panel", col_wrap=min(4, len(panels)), col_order=panels)
    for panel, ax in grid.axes_dict.items():
        part = curve[curve["panel"] == panel]
        _finish_panel(ax, part, panel)
        note = _blur_note(part)
        if note:
            ax.text(0.97, 0.92, note, transform=ax.transAxes, fontsize=6, va="top", ha="right", color=removal_colour("blur"),
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.85, "edgecolor": "none"})
    grid.set_axis_labels(REMOVED, UNCHANGED)
    return grid.figure


def missingness_classes_figure(curve: pd.DataFrame, top: pd.DataFrame) -> plt.Figure:
    """Per dataset: predicted-class entropy vs features removed (random order), then per
    condition the most-predicted classes at about half removed, beside their share at 0 %."""
    datasets = list(dict.fromkeys(curve["dataset"]))
    conditions = max(len(top[top["dataset"] == d].groupby(["model", "removal"])) for d in datasets)
    fig, axes = plt.subplots(len(datasets), 1 + conditions, figsize=(4 * (1 + conditions), 3.4 * len(datasets)),
                             squeeze=False)
    for row, dataset in zip(axes, datasets):
        table = curve[curve["dataset"] == dataset]
        styles = {m: ls for m, ls in zip(dict.fromkeys(table["model"]), ("-", "--", ":", "-."))}
        for (model, removal), line in table.groupby(["model", "removal"], sort=False):
            row[0].plot(line["fraction_removed"], line["class_entropy_bits"], marker=".", ls=styles[model],
                        color=removal_colour(removal), label=_condition(model, removal))
        num_classes = first_value(table, "num_classes")
        if num_classes is not None:
            row[0].axhline(np.log2(num_classes), color="0.35", lw=1.0, ls=":", gid="reference",
                           label=f"uniform over {int(num_classes)} classes")
        if len(_counts(table)):
            points_where_few(row[0], int(np.min(_counts(table))))
            show_n(row[0], _counts(table), extra=" inputs")
        row[0].set(title=f"{dataset}: predicted-class entropy, random order", xlabel=REMOVED,
                   ylabel="entropy of the predicted classes (bits)", ylim=(0, None))
        row[0].legend(fontsize=7)
        bars = top[top["dataset"] == dataset]
        groups = list(bars.groupby(["model", "removal"], sort=False))
        for ax, ((model, removal), part) in zip(row[1:], groups):
            pos = np.arange(len(part))
            ax.bar(pos - 0.2, part["share"], width=0.4, color=removal_colour(removal),
                   label=f"{part['fraction_removed'].iloc[0]:.0%} removed")
            ax.bar(pos + 0.2, part["share_at_0"], width=0.4, color="0.75", label="nothing removed")
            if num_classes is not None:
                ax.axhline(1 / num_classes, color="0.35", lw=1.0, ls=":", label=f"uniform 1/{int(num_classes)}")
            ax.set_xticks(pos, part["class_name"].astype(str), rotation=30, fontsize=7)
            ax.set(title=f"{dataset} / {_condition(model, removal)}: most-predicted classes",
                   ylabel="share of the inputs predicted as the class", ylim=(0, 1))
            ax.title.set_fontsize(8)
            counts = table.loc[(table["model"] == model) & (table["removal"] == removal), "images"] \
                if "images" in table else []
            if len(counts):
                show_n(ax, counts, extra=" inputs", in_title=True)
            ax.legend(fontsize=7, loc="upper right")
        for ax in row[1 + len(groups):]:
            ax.axis("off")
    fig.tight_layout()
    return fig


def _source_style(source: str, kind: str):
    """An explanation's line: the colour of the removal it was computed with, solid for the
    evaluating model's own LIME, dashed for another model's, dotted grey for random."""
    if kind == "random":
        return "random order", "0.5", ":"
    removal = source.split(":")[-1]
    return f"LIME of {source} ({kind})", removal_colour(removal), "-" if kind == "own" else "--"


def topk_figure(curve: pd.DataFrame) -> plt.Figure:
    """LIME top-K test: one row per (dataset, evaluating model), panels remove / keep top-k,
    one line per explanation source (own LIME, the other model's LIME, random order)."""
    groups = list(curve.groupby(["dataset", "model", "removal"], sort=False))
    fig, axes = plt.subplots(len(groups), 2, figsize=(10, 3.5 * len(groups)), squeeze=False)
    for (ax_remove, ax_keep), ((dataset, model, removal), table) in zip(axes, groups):
        for ax, test in ((ax_remove, "remove"), (ax_keep, "keep")):
            part = table[table["test"] == test]
            for (source, kind), line in part.groupby(["source", "source_kind"], sort=False):
                label, colour, style = _source_style(source, kind)
                ax.plot(line["k"], line["unchanged"], marker=".", label=label, ls=style, color=colour)
            chance_line(ax, first_value(part, "num_classes"), UNRELATED)
            n = _counts(part)
            if len(n):
                points_where_few(ax, int(np.min(n)))
                show_n(ax, n, extra=" inputs")
            ax.set(title=f"{dataset}: {_condition(model, removal)}, {test} the top-k features", xlabel="k (features)",
                   ylabel=UNCHANGED, ylim=(0, 1.02))
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def text_missingness_figure(curve: pd.DataFrame) -> plt.Figure:
    """Text analogue: tokens replaced by [MASK] vs deleted; a row per (dataset, model), a panel
    per order; fraction unchanged (solid) and predicted-class entropy (dotted, right axis)."""
    rows = list(curve.groupby(["dataset", "model"], sort=False))
    orders = list(dict.fromkeys(curve["order"]))
    fig, axes = plt.subplots(len(rows), len(orders), figsize=(4.4 * len(orders), 3.4 * len(rows)), squeeze=False)
    for row, ((dataset, model), table) in zip(axes, rows):
        for ax, order in zip(row, orders):
            part = table[table["order"] == order]
            right = ax.twinx()
            right.grid(False)
            for removal, line in part.groupby("removal", sort=False):
                ax.plot(line["fraction_removed"], line["unchanged"], marker=".", color=removal_colour(removal),
                        label=removal)
                right.plot(line["fraction_removed"], line["class_entropy_bits"], ls=":", color=removal_colour(removal))
            right.set_ylabel("predicted-class entropy (bits, dotted)")
            right.set_ylim(0, None)
            n = _counts(part)
            if len(n):
                points_where_few(right, int(np.min(n)))
            _finish_panel(ax, part, f"{dataset} / {model}: {order_name(order)}")
            ax.title.set_fontsize(8)
            ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig
