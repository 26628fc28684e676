"""Figures drawn only from tidy tables, so a reader can re-plot every one from its CSV."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from attrib import mus  # noqa: E402
from attrib.attribution import path_family  # noqa: E402

sns.set_theme(style="whitegrid", context="paper")


def _panels(n: int, width: float = 4.0, height: float = 3.2):
    fig, axes = plt.subplots(1, n, figsize=(width * n, height), squeeze=False)
    return fig, axes[0]


def training_figure(history: pd.DataFrame) -> plt.Figure:
    """Validation accuracy per epoch; one panel per (dataset, model), one curve per λ."""
    groups = list(history.groupby(["dataset", "model"], sort=False))
    fig, axes = _panels(len(groups))
    for ax, ((dataset, model), table) in zip(axes, groups):
        for lam, curve in table.groupby("lam", sort=True):
            ax.plot(curve["epoch"], curve["val_accuracy"], marker="o", label=f"λ={lam:g}")
        ax.set(title=f"{dataset} / {model}", xlabel="epoch", ylabel="val. accuracy (masked)", ylim=(0, 1))
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def certified_accuracy_curve(samples: pd.DataFrame, points: int = 101) -> pd.DataFrame:
    """E2 curves from per-sample certificates: certified accuracy on a grid of r up to the
    largest radius any λ can certify, 1/(2·λ_min), with r/p, the clean accuracy and the share
    of the λ = 1 clean accuracy it keeps (``clean_accuracy_retained``, NaN without λ = 1): the
    paper's "ViTs tolerate masking better" compares that share across models."""
    parts = []
    for (dataset, model), table in samples.groupby(["dataset", "model"], sort=False):
        radii = np.linspace(0, 1 / (2 * table["lambda"].min()), points)
        curve = mus.certified_accuracy_curve(table, radii)
        curve["radius_over_p"] = curve["radius"] / int(table["num_features"].iloc[0])
        clean = table.groupby("lambda")["correct"].mean()
        retained = clean / clean.get(1.0, np.nan)
        curve = curve.join(pd.DataFrame({"clean_accuracy": clean, "clean_accuracy_retained": retained}), on="lambda")
        curve.insert(0, "model", model)
        curve.insert(0, "dataset", dataset)
        parts.append(curve)
    return pd.concat(parts, ignore_index=True)


def certified_accuracy_figure(curve: pd.DataFrame) -> plt.Figure:
    """One row per dataset: a panel per model (certified accuracy vs r/p, a curve per λ), then
    the clean accuracy each model keeps relative to λ = 1, against λ (one line per model)."""
    datasets = list(dict.fromkeys(curve["dataset"]))
    columns = max(curve[curve["dataset"] == d]["model"].nunique() for d in datasets) + 1
    fig, axes = plt.subplots(len(datasets), columns, figsize=(4.0 * columns, 3.2 * len(datasets)), squeeze=False)
    for row, dataset in zip(axes, datasets):
        part = curve[curve["dataset"] == dataset]
        models = list(part.groupby("model", sort=False))
        for ax, (model, table) in zip(row, models):
            for lam, line in table.groupby("lambda", sort=True):
                label = f"λ={lam:g} (clean {line['clean_accuracy'].iloc[0]:.2f})"
                ax.plot(line["radius_over_p"], line["certified_accuracy"], label=label)
            ax.set(title=f"{dataset} / {model}", xlabel="certified radius r / p", ylabel="certified accuracy",
                   ylim=(0, 1))
            ax.legend(fontsize=7)
        ax = row[-1]
        for model, table in models:
            clean = table.groupby("lambda")["clean_accuracy_retained"].first()
            ax.plot(clean.index, clean.to_numpy(), marker="o", label=model)
        lams = sorted(part["lambda"].unique())
        ax.set(title=f"{dataset}: clean accuracy kept", xlabel="λ", xscale="log",
               ylabel="clean acc. / clean acc. at λ = 1", ylim=(0, 1.05))
        ax.set_xticks(lams, [f"{lam:g}" for lam in lams])
        ax.minorticks_off()
        ax.legend(fontsize=7)
        for ax in row[len(models):-1]:
            ax.axis("off")
    fig.tight_layout()
    return fig


def _colour_scale(values: np.ndarray) -> dict:
    """Diverging and symmetric around zero for signed maps; sequential for magnitudes."""
    bound = max(float(np.abs(values).max()), 1e-12)
    if (values < 0).any():
        return {"cmap": "RdBu_r", "vmin": -bound, "vmax": bound}
    return {"cmap": "Reds", "vmin": 0.0, "vmax": bound}


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


def save(fig: plt.Figure, path) -> None:
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)


# --- missingness bias -----------------------------------------------------------------------


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


# --- SMUG --------------------------------------------------------------------------------------


SMUG_ORDER = ("smug", "smug_base")


def smug_method_order(methods) -> list[str]:
    """SMUG's maps first, then the compared methods in their given order."""
    methods = list(dict.fromkeys(methods))
    return [m for m in SMUG_ORDER if m in methods] + [m for m in methods if m not in SMUG_ORDER]


def smug_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, model, method): median saliency metric, mean sparsity and ground truth."""
    columns = [c for c in ("saliency_metric", "area", "prob", "kept_fraction", "gini", "pointing",
                           "relevance_mass", "mask_auc") if c in scores]
    grouped = scores.groupby(["dataset", "model", "method"], sort=False)
    out = grouped[columns].mean().add_prefix("mean_")
    out.insert(0, "median_saliency_metric", grouped["saliency_metric"].median())
    out.insert(0, "inputs", grouped.size())
    return out.reset_index()


def smug_saliency_figure(scores: pd.DataFrame) -> plt.Figure:
    """Per (dataset, model): saliency metric (lower is better) and fraction kept per method."""
    pairs = list(scores.groupby(["dataset", "model"], sort=False).groups)
    fig, axes = plt.subplots(len(pairs), 2, figsize=(10, 3.4 * len(pairs)), squeeze=False)
    for (ax_metric, ax_kept), (dataset, model) in zip(axes, pairs):
        table = scores[(scores["dataset"] == dataset) & (scores["model"] == model)]
        order = smug_method_order(table["method"])
        sns.boxplot(data=table, x="method", y="saliency_metric", order=order, ax=ax_metric, color="#9ecae1",
                    showfliers=False)
        np.random.seed(0)  # seaborn jitters strip points with numpy's global generator
        sns.stripplot(data=table, x="method", y="saliency_metric", order=order, ax=ax_metric, size=2, color="0.3")
        ax_metric.set(title=f"{dataset} / {model}: saliency metric", ylabel="log max(a, 0.05) − log p, lower is better",
                      xlabel="")
        sns.barplot(data=table, x="method", y="kept_fraction", order=order, ax=ax_kept, color="#fdae6b",
                    seed=0)  # the error bar is a bootstrap interval
        ax_kept.set(title=f"{dataset} / {model}: sparsity", ylabel="fraction of positions kept", xlabel="",
                    ylim=(0, 1))
        for ax in (ax_metric, ax_kept):
            ax.tick_params(axis="x", rotation=30, labelsize=7)
    fig.tight_layout()
    return fig


def smug_solver_time_figure(solver: pd.DataFrame) -> plt.Figure:
    """Solve time per input per backend on the programs every backend solved (log scale)."""
    timed = solver[solver["solution"] == 0]
    shared = timed.groupby(["dataset", "model", "input"])["backend"].transform("nunique") == timed.groupby(
        ["dataset", "model"])["backend"].transform("nunique")
    timed = timed[shared]
    pairs = list(timed.groupby(["dataset", "model"], sort=False).groups)
    fig, axes = _panels(len(pairs), width=4.2)
    for ax, (dataset, model) in zip(axes, pairs):
        table = timed[(timed["dataset"] == dataset) & (timed["model"] == model)]
        np.random.seed(0)  # seaborn jitters strip points with numpy's global generator
        sns.stripplot(data=table, x="backend", y="seconds", hue="status", ax=ax, size=4, jitter=0.2)
        medians = table.groupby("backend")["seconds"].median()
        for i, label in enumerate(t.get_text() for t in ax.get_xticklabels()):
            ax.hlines(medians[label], i - 0.3, i + 0.3, color="black")
        ax.set_yscale("log")
        ax.set(title=f"{dataset} / {model}: {table['input'].nunique()} programs", ylabel="solve time (s)")
        ax.legend(fontsize=6, title="status", title_fontsize=6)
    fig.tight_layout()
    return fig


def smug_examples_figure(blocks: list[dict]) -> plt.Figure:
    """One block per (dataset, model): images with their maps side by side, or token strips.

    Each block has ``title``, ``columns`` (name -> (N, H, W) or (N, L) maps), and ``images``
    (N, 3, H, W) or ``tokens`` (N lists of strings) and ``labels``.
    """
    heights = [len(b["labels"]) * (1.5 if "images" in b else 0.35 * len(b["columns"]) + 1.5) + 0.4 for b in blocks]
    fig = plt.figure(figsize=(8.5, sum(heights)))
    subfigs = fig.subfigures(len(blocks), 1, height_ratios=heights, squeeze=False)[:, 0]
    for subfig, block in zip(subfigs, blocks):
        subfig.suptitle(block["title"], fontsize=8)
        names = list(block["columns"])
        rows = len(block["labels"])
        if "images" in block:
            axes = subfig.subplots(rows, len(names) + 1, squeeze=False)
            for r in range(rows):
                axes[r, 0].imshow(block["images"][r].permute(1, 2, 0).numpy())
                axes[r, 0].set_ylabel(block["labels"][r], fontsize=6)
                for c, name in enumerate(names):
                    grid = block["columns"][name][r].numpy()
                    axes[r, c + 1].imshow(grid, **_colour_scale(grid))
            for c, title in enumerate(["input", *names]):
                axes[0, c].set_title(title, fontsize=7)
            for ax in axes.flat:
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
            continue
        axes = subfig.subplots(rows, 1, squeeze=False)[:, 0]
        for r, ax in enumerate(axes):
            tokens = block["tokens"][r]
            strip = np.stack([block["columns"][name][r, : len(tokens)].numpy() for name in names])
            strip = strip / np.maximum(np.abs(strip).max(axis=1, keepdims=True), 1e-12)
            ax.imshow(strip, aspect="auto", **_colour_scale(strip))
            ax.grid(False)
            ax.set_xticks(range(len(tokens)), tokens, rotation=60, ha="right", fontsize=5)
            ax.set_yticks(range(len(names)), names, fontsize=6)
            ax.set_title(block["labels"][r], fontsize=6, loc="left")
        subfig.subplots_adjust(hspace=1.2, bottom=0.08)
    return fig
