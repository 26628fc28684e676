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

def _colour_scale(values: np.ndarray) -> dict:
    """Diverging and symmetric around zero for signed maps; sequential for magnitudes."""
    bound = max(float(np.abs(values).max()), 1e-12)
    if (values < 0).any():
        return {"cmap": "RdBu_r", "vmin": -bound, "vmax": bound}
    return {"cmap": "Reds", "vmin": 0.0, "vmax": bound}


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



def save(fig: plt.Figure, path) -> None:
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
