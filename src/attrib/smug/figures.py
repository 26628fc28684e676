"""SMUG figures: example maps, saliency metric and sparsity per method, solver time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrib.figures import _colour_scale, _panels, method_colour, method_label, method_palette, plt, show_n, sns


SMUG_ORDER = ("smug", "smug (timeout)", "smug_base")
SOLVER_STATUSES = ("optimal", "timeout", "fallback")
SOLVE_KEYS = ("input", "solution", "backend", "role")  # one solve; its wall-clock seconds sit in a timing table


def smug_method_order(methods) -> list[str]:
    """SMUG's maps first, then the compared methods in their given order."""
    methods = list(dict.fromkeys(methods))
    return [m for m in SMUG_ORDER if m in methods] + [m for m in methods if m not in SMUG_ORDER]


def with_status_labels(scores: pd.DataFrame) -> pd.DataFrame:
    """SMUG's rows relabelled by solver status: ``smug`` (proven optimal masks), ``smug
    (timeout)`` (valid masks not proven minimal), ``smug (fallback)`` (no mask: not scored)."""
    status = scores["status"] if "status" in scores else pd.Series(None, index=scores.index, dtype=object)
    apart = (scores["method"] == "smug") & status.isin(["timeout", "fallback"])
    return scores.assign(method=scores["method"].where(~apart, "smug (" + status.astype(str) + ")"))


def smug_status_counts(solver: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, model, backend): how many of the maps' masks each solver status produced."""
    own = solver[(solver["role"] == "maps") & (solver["solution"] == 0)]
    counts = own.groupby(["dataset", "model", "backend", "status"], sort=False).size().unstack(fill_value=0)
    return counts.reindex(columns=list(SOLVER_STATUSES), fill_value=0).reset_index().rename_axis(columns=None)


def smug_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, model, method; SMUG split by solver status): inputs, how many were scored
    (all-zero maps, constant crops and fallback masks are not), median saliency metric, mean
    sparsity and ground truth; and the median saliency metric on the inputs whose SMUG mask is
    proven optimal (``median_saliency_metric_paired``), so every method compares on one set."""
    scores = with_status_labels(scores)
    columns = [c for c in ("saliency_metric", "area", "prob", "kept_fraction", "gini", "pointing",
                           "relevance_mass", "mask_auc") if c in scores]
    grouped = scores.groupby(["dataset", "model", "method"], sort=False)
    out = grouped[columns].mean().add_prefix("mean_")
    optimal = scores[scores["method"] == "smug"][["dataset", "model", "input"]]
    paired = scores.merge(optimal, on=["dataset", "model", "input"]).groupby(["dataset", "model", "method"], sort=False)
    out.insert(0, "median_saliency_metric_paired", paired["saliency_metric"].median())
    out.insert(0, "median_saliency_metric", grouped["saliency_metric"].median())
    out.insert(0, "scored", grouped["saliency_metric"].count())
    out.insert(0, "inputs", grouped.size())
    return out.reset_index()


def smug_saliency_figure(scores: pd.DataFrame) -> plt.Figure:
    """Per (dataset, model): saliency metric (lower is better) and fraction kept per method, on
    the scored inputs; SMUG's timeout masks apart from its optimal ones, fallbacks counted in
    the title only; each method in its colour."""
    pairs = list(scores.groupby(["dataset", "model"], sort=False).groups)
    fig, axes = plt.subplots(len(pairs), 2, figsize=(10, 3.6 * len(pairs)), squeeze=False)
    for (ax_metric, ax_kept), (dataset, model) in zip(axes, pairs):
        table = scores[(scores["dataset"] == dataset) & (scores["model"] == model)]
        status = table.loc[table["method"] == "smug", "status"].value_counts()
        table = with_status_labels(table[table["saliency_metric"].notna()])
        methods = smug_method_order(table["method"])
        table = table.assign(method_name=table["method"].map(method_label))
        order, palette = [method_label(m) for m in methods], method_palette(methods)
        sns.boxplot(data=table, x="method_name", y="saliency_metric", order=order, ax=ax_metric, hue="method_name",
                    palette=palette, showfliers=False, boxprops={"alpha": 0.6}, legend=False)
        np.random.seed(0)  # seaborn jitters strip points with numpy's global generator
        sns.stripplot(data=table, x="method_name", y="saliency_metric", order=order, ax=ax_metric, size=2, color="0.3")
        masks = ", ".join(f"{int(status.get(s, 0))} {s}" for s in SOLVER_STATUSES)
        ax_metric.set(title=f"{dataset} / {model}: saliency metric\nSMUG masks: {masks} (fallback not scored)",
                      ylabel="log max(a, 0.05) − log p, lower is better", xlabel="")
        ax_metric.title.set_fontsize(9)
        sns.barplot(data=table, x="method_name", y="kept_fraction", order=order, ax=ax_kept, hue="method_name",
                    palette=palette, legend=False, seed=0)  # the error bar is a bootstrap interval
        ax_kept.set(title=f"{dataset} / {model}: sparsity", ylabel="fraction of positions kept", xlabel="",
                    ylim=(0, 1))
        for ax in (ax_metric, ax_kept):
            ax.tick_params(axis="x", rotation=30, labelsize=7)
            show_n(ax, table.groupby("method").size(), extra=" inputs", in_title=True)
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
            for c, title in enumerate(["input", *map(method_label, names)]):
                axes[0, c].set_title(title, fontsize=7, color="black" if c == 0 else method_colour(names[c - 1]))
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
            ax.set_yticks(range(len(names)), [method_label(n) for n in names], fontsize=6)
            ax.set_title(block["labels"][r], fontsize=6, loc="left")
        subfig.subplots_adjust(hspace=1.2, bottom=0.08)
    return fig


def example_rows(dataset: str, model: str, columns: dict) -> pd.DataFrame:
    """The example maps as a tidy table, one row per (input, method, position): what the
    examples figure draws, from (N, P) tensors per method (images flattened row-major)."""
    parts = []
    for method, values in columns.items():
        flat = values.flatten(1).double().numpy()
        n, positions = flat.shape
        parts.append(pd.DataFrame({
            "dataset": dataset, "model": model, "input": np.repeat(np.arange(n), positions), "method": method,
            "position": np.tile(np.arange(positions), n), "value": flat.reshape(-1),
        }))
    return pd.concat(parts, ignore_index=True)
