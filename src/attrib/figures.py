"""Figures drawn only from tidy tables, so a reader can re-plot every one from its CSV."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from attrib import mus  # noqa: E402

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
    largest radius any λ can certify, 1/(2·λ_min), with r/p and the clean accuracy."""
    parts = []
    for (dataset, model), table in samples.groupby(["dataset", "model"], sort=False):
        radii = np.linspace(0, 1 / (2 * table["lambda"].min()), points)
        curve = mus.certified_accuracy_curve(table, radii)
        curve["radius_over_p"] = curve["radius"] / int(table["num_features"].iloc[0])
        clean = table.groupby("lambda")["correct"].mean().rename("clean_accuracy")
        curve = curve.join(clean, on="lambda")
        curve.insert(0, "model", model)
        curve.insert(0, "dataset", dataset)
        parts.append(curve)
    return pd.concat(parts, ignore_index=True)


def certified_accuracy_figure(curve: pd.DataFrame) -> plt.Figure:
    groups = list(curve.groupby(["dataset", "model"], sort=False))
    fig, axes = _panels(len(groups))
    for ax, ((dataset, model), table) in zip(axes, groups):
        for lam, line in table.groupby("lambda", sort=True):
            label = f"λ={lam:g} (clean {line['clean_accuracy'].iloc[0]:.2f})"
            ax.plot(line["radius_over_p"], line["certified_accuracy"], label=label)
        ax.set(title=f"{dataset} / {model}", xlabel="certified radius r / p", ylabel="certified accuracy", ylim=(0, 1))
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def ablation_curve(samples: pd.DataFrame) -> pd.DataFrame:
    """Mean fraction unchanged and class entropy per removal step."""
    keys = ["dataset", "model", "removal", "removed"]
    curve = samples.groupby(keys, sort=False).agg(
        fraction_removed=("fraction_removed", "mean"),
        unchanged=("unchanged", "mean"),
        prob_orig=("prob_orig", "mean"),
    )
    entropy = samples.groupby(keys, sort=False)["pred"].agg(_entropy_bits).rename("class_entropy_bits")
    return curve.join(entropy).reset_index()


def _entropy_bits(labels: pd.Series) -> float:
    freq = labels.value_counts(normalize=True).to_numpy()
    return float((freq * np.log2(1 / freq)).sum())


def ablation_figure(curve: pd.DataFrame) -> plt.Figure:
    """Fraction unchanged and predicted-class entropy vs fraction removed, one row per dataset."""
    datasets = list(dict.fromkeys(curve["dataset"]))
    fig, axes = plt.subplots(len(datasets), 2, figsize=(9, 3.3 * len(datasets)), squeeze=False)
    for (ax_u, ax_e), dataset in zip(axes, datasets):
        table = curve[curve["dataset"] == dataset]
        for (model, removal), line in table.groupby(["model", "removal"], sort=False):
            ax_u.plot(line["fraction_removed"], line["unchanged"], marker=".", label=f"{model} ({removal})")
            ax_e.plot(line["fraction_removed"], line["class_entropy_bits"], marker=".", label=f"{model} ({removal})")
        ax_u.set(title=f"{dataset}: random removal", xlabel="fraction of features removed",
                 ylabel="fraction of predictions unchanged", ylim=(0, 1.02))
        ax_e.set(title=f"{dataset}: predicted-class entropy", xlabel="fraction of features removed",
                 ylabel="entropy (bits)")
        ax_u.legend(fontsize=7)
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


def faithfulness_figure(summary: pd.DataFrame, auc: pd.DataFrame, truth: pd.DataFrame) -> plt.Figure:
    """One row per (dataset, model): DiffID area per method, DiffID(r) curves, ground truth."""
    pairs = list(auc.groupby(["dataset", "model"], sort=False).groups)
    fig, axes = plt.subplots(len(pairs), 3, figsize=(14, 3.6 * len(pairs)), squeeze=False)
    for (ax_auc, ax_curve, ax_truth), (dataset, model) in zip(axes, pairs):
        def rows(table):
            return table[(table["dataset"] == dataset) & (table["model"] == model)]

        area = rows(auc)
        colour = dict(zip(area["method"], sns.color_palette("tab10", len(area))))
        ax_auc.bar(area["method"], area["diffid_logit_auc"], color=[colour[m] for m in area["method"]])
        ax_auc.set(title=f"{dataset} / {model}: DiffID (logit, trapezoid area)", ylabel="area, higher is better")
        ax_auc.tick_params(axis="x", rotation=45, labelsize=7)
        for method, curve in rows(summary).groupby("method", sort=False):
            ax_curve.plot(curve["ratio"], curve["diffid_logit"], marker=".", color=colour[method], label=method)
        ax_curve.axhline(0, color="grey", lw=0.8)
        ax_curve.set(title="DiffID(r): insertion − deletion", xlabel="ratio r removed", ylabel="logit ratio difference")
        ax_curve.legend(fontsize=6)
        scores = rows(truth)
        if len(scores):
            long = scores.melt(id_vars="method", value_vars=["pointing", "relevance_mass", "mask_auc"],
                               var_name="score", value_name="value")
            sns.barplot(data=long, x="score", y="value", hue="method", ax=ax_truth, palette=colour,
                        hue_order=list(colour))
            ax_truth.set(title="agreement with the digit mask", ylim=(0, 1), xlabel="")
            ax_truth.legend(fontsize=6)
        else:
            ax_truth.set_axis_off()
    fig.tight_layout()
    return fig


def save(fig: plt.Figure, path) -> None:
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)


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
        sns.stripplot(data=table, x="method", y="saliency_metric", order=order, ax=ax_metric, size=2, color="0.3")
        ax_metric.set(title=f"{dataset} / {model}: saliency metric", ylabel="log max(a, 0.05) − log p, lower is better",
                      xlabel="")
        sns.barplot(data=table, x="method", y="kept_fraction", order=order, ax=ax_kept, color="#fdae6b")
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
