"""Figures drawn only from tidy tables, so a reader can re-plot every one from its CSV."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

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
    """Fraction of samples correct with certified radius ≥ r, on a grid of r/p."""
    rows = []
    for (dataset, model, lam), table in samples.groupby(["dataset", "model", "lambda"], sort=False):
        p = int(table["num_features"].iloc[0])
        max_radius = 1 / (2 * lam)
        radii = np.linspace(0, max_radius, points)
        correct = table["correct"].to_numpy(bool)
        radius = table["radius"].to_numpy(float)
        fraction = (correct[None, :] & (radius[None, :] >= radii[:, None] - 1e-12)).mean(axis=1)
        clean = correct.mean()
        rows += [
            dict(dataset=dataset, model=model, **{"lambda": lam}, radius=r, radius_over_p=r / p,
                 certified_accuracy=f, clean_accuracy=clean)
            for r, f in zip(radii, fraction)
        ]
    return pd.DataFrame(rows)


def certified_accuracy_figure(curve: pd.DataFrame) -> plt.Figure:
    groups = list(curve.groupby(["dataset", "model"], sort=False))
    fig, axes = _panels(len(groups))
    for ax, ((dataset, model), table) in zip(axes, groups):
        for lam, line in table.groupby("lambda", sort=False):
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
    return float(-(freq * np.log2(freq)).sum())


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


def attribution_examples_figure(images, features, titles, labels, tokens=None) -> plt.Figure:
    """Grid: rows are inputs, columns the input then one attribution per (model, method).

    ``features`` is (columns, rows, p). Images show the patch grid upsampled; text shows a
    coloured strip over its tokens. A diverging map, symmetric around zero per panel.
    """
    n_cols, n_rows = len(titles), len(labels)
    if tokens is None:
        fig, axes = plt.subplots(n_rows, n_cols + 1, figsize=(1.6 * (n_cols + 1), 1.6 * n_rows), squeeze=False)
        for r in range(n_rows):
            axes[r, 0].imshow(images[r].permute(1, 2, 0).numpy())
            axes[r, 0].set_ylabel(labels[r], fontsize=7)
            side = int(round(features.shape[-1] ** 0.5))
            for c in range(n_cols):
                grid = features[c, r].reshape(side, side).numpy()
                bound = max(abs(grid).max(), 1e-12)
                axes[r, c + 1].imshow(grid, cmap="RdBu_r", vmin=-bound, vmax=bound)
        for c, title in enumerate(["input", *titles]):
            axes[0, c].set_title(title, fontsize=7)
        for ax in axes.flat:
            ax.set_xticks([])
            ax.set_yticks([])
    else:
        fig, axes = plt.subplots(n_rows, 1, figsize=(max(6, 0.45 * max(map(len, tokens))), 0.5 + 0.35 * n_cols * n_rows),
                                 squeeze=False)
        for r in range(n_rows):
            ax = axes[r, 0]
            strip = features[:, r, : len(tokens[r])].numpy()
            bound = max(abs(strip).max(), 1e-12)
            ax.imshow(strip, cmap="RdBu_r", vmin=-bound, vmax=bound, aspect="auto")
            ax.set_xticks(range(len(tokens[r])), tokens[r], rotation=60, fontsize=6)
            ax.set_yticks(range(n_cols), titles, fontsize=6)
            ax.set_title(labels[r], fontsize=7, loc="left")
        fig.subplots_adjust(hspace=1.2)
    return fig


def save(fig: plt.Figure, path) -> None:
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
