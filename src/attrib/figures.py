"""Figures drawn only from tidy tables, so a reader can re-plot every one from its CSV.

The conventions every figure shares live here: one fixed colour per attribution method, per
removal mode and per λ (the same in every figure, also for names this module has never seen),
one readable name per method, plain λ labels, the n of each panel, chance lines, and points
instead of curves where a panel has too few samples for a curve to mean anything.
"""

from __future__ import annotations

import json
import zlib
from fractions import Fraction
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402


sns.set_theme(style="whitegrid", context="paper")

# Panels with fewer samples than this show points with their n, not curves.
SMALL_N = 10

RECALIBRATED = "_recal"

METHOD_NAMES = {
    "saliency": "Saliency",
    "inputxgrad": "Input×Grad",
    "smoothgrad": "SmoothGrad",
    "gradshap": "GradientSHAP",
    "intgrad": "IntGrad",
    "intgrad_path": "IntGrad",  # the re-calibration family of captum's intgrad (equal by test)
    "intgrad_sg": "IntGrad-SG",
    "intgrad_uniform": "IntGrad-Uniform",
    "expgrad": "ExpGrad",
    "occlusion": "Occlusion",
    "lime": "LIME",
    "kernelshap": "Kernel SHAP",
    "random": "random",
    "shap": "SHAP",
    "vgrad": "Vanilla grad",
    "igrad": "IntGrad (mask)",
    "smug": "SMUG",
    "smug (timeout)": "SMUG (timeout)",
    "smug (fallback)": "SMUG (fallback)",
    "smug_base": "SMUG base",
}

METHOD_COLOURS = {
    "saliency": "#4c72b0",
    "inputxgrad": "#64b5cd",
    "smoothgrad": "#8172b3",
    "gradshap": "#da8bc3",
    "intgrad": "#c44e52",
    "intgrad_path": "#c44e52",
    "intgrad_sg": "#dd8452",
    "intgrad_uniform": "#937860",
    "expgrad": "#55a868",
    "occlusion": "#ccb974",
    "lime": "#2a9d8f",
    "kernelshap": "#264653",
    "random": "#8c8c8c",
    "shap": "#b8860b",
    "vgrad": "#6a5acd",
    "igrad": "#a23b72",
    "smug": "#6d597a",
    "smug_base": "#b56576",
}

REMOVAL_COLOURS = {
    "black": "#222222",
    "mean": "#8c8c8c",
    "patch_color": "#e377c2",
    "noise": "#bcbd22",
    "blur": "#17becf",
    "drop": "#1f77b4",
    "mask_token": "#ff7f0e",
    "delete": "#2ca02c",
}

# λ from 1 down to 1/16 (the paper's range) spans this part of the colour map, by log2 λ.
LAMBDA_CMAP, LAMBDA_OCTAVES = "viridis", 4


def _hashed_colour(name: str) -> str:
    """A colour fixed by the name alone, for names without an entry (e.g. a new method)."""
    hues = sns.husl_palette(24, l=0.55)
    return mcolors.to_hex(hues[zlib.crc32(name.encode()) % len(hues)])


def _base_method(name: str) -> str:
    return name[: -len(RECALIBRATED)] if name.endswith(RECALIBRATED) else name


def method_label(name: str) -> str:
    """The readable name of a config method label (``intgrad_recal`` -> ``IntGrad re-cal.``)."""
    base = _base_method(name)
    label = METHOD_NAMES.get(base, base)
    return f"{label} re-cal." if base != name else label


def method_colour(name: str) -> str:
    """One colour per method in every figure; a re-calibrated variant is a darker shade of
    its vanilla method, so the pair reads as one family."""
    base = _base_method(name)
    colour = METHOD_COLOURS.get(base) or _hashed_colour(base)
    if base != name:
        return mcolors.to_hex(np.asarray(mcolors.to_rgb(colour)) * 0.55)
    return colour


def removal_colour(mode: str) -> str:
    return REMOVAL_COLOURS.get(mode) or _hashed_colour(mode)


def lambda_colour(lam: float) -> str:
    """By log2 λ on a fixed scale, so λ = 1/4 has one colour whichever λs a figure shows."""
    position = np.clip(np.log2(1 / float(lam)) / LAMBDA_OCTAVES, 0, 1)
    return mcolors.to_hex(plt.get_cmap(LAMBDA_CMAP)(0.9 * position))


def format_lambda(lam: float) -> str:
    """1, 1/2, 3/8, 1/16 instead of 0.375 or 3×10⁻¹; other values as decimals."""
    fraction = Fraction(float(lam)).limit_denominator(64)
    if abs(float(fraction) - float(lam)) > 1e-9:
        return f"{float(lam):g}"
    return str(fraction)


def method_palette(names) -> dict:
    """``{readable name: colour}`` for the methods, as seaborn's ``palette`` takes it."""
    return {method_label(n): method_colour(n) for n in dict.fromkeys(names)}


def removal_order(modes) -> list[str]:
    """The known removal modes in a fixed order (legends read the same everywhere), then others."""
    modes = list(dict.fromkeys(modes))
    return [m for m in REMOVAL_COLOURS if m in modes] + [m for m in modes if m not in REMOVAL_COLOURS]


def removal_palette(modes) -> dict:
    return {m: removal_colour(m) for m in dict.fromkeys(modes)}


def lambda_axis(ax, lambdas) -> None:
    """λ on a log axis with one plain tick per λ shown."""
    lambdas = sorted({float(lam) for lam in lambdas})
    ax.set_xscale("log", base=2)
    ax.set_xticks(lambdas, [format_lambda(lam) for lam in lambdas])
    ax.minorticks_off()
    ax.set_xlabel("keep probability λ")


def n_text(counts) -> str:
    """``n = 200``, or the range where lines of one panel rest on different sample sizes."""
    counts = sorted({int(c) for c in np.atleast_1d(counts)})
    if not counts:
        return "n = 0"
    return f"n = {counts[0]}" if len(counts) == 1 else f"n = {counts[0]}–{counts[-1]}"


def show_n(ax, counts, extra: str = "", in_title: bool = False) -> None:
    """Write the panel's n in its lower right corner (or after its title, where bars fill the
    corner); too few samples say so."""
    text = n_text(counts) + extra
    if min(np.atleast_1d(counts), default=0) < SMALL_N:
        text += ": points, too few for a curve"
    if in_title:
        ax.set_title(f"{ax.get_title()} ({text})")
        return
    ax.text(0.98, 0.03, text, transform=ax.transAxes, ha="right", va="bottom", fontsize=7,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.8, "edgecolor": "none"})


def chance_line(ax, num_classes, what: str = "chance") -> None:
    """1/num_classes, where accuracies (or agreement with a fixed prediction) fall by guessing."""
    if num_classes is None or not np.isfinite(num_classes) or num_classes < 1:
        return
    level = 1 / float(num_classes)
    ax.axhline(level, color="0.35", ls=":", lw=1.0, zorder=0, gid="reference")
    ax.text(0.01, level, f"{what} 1/{int(num_classes)}", transform=ax.get_yaxis_transform(), fontsize=6,
            color="0.35", va="bottom", ha="left")


def first_value(table: pd.DataFrame, column: str):
    """The value of a per-dataset column (e.g. num_classes), None where the table lacks it."""
    if column not in table or table[column].isna().all():
        return None
    return table[column].dropna().iloc[0]


def plateau_ends(x, y):
    """The last point of each level of a step curve sampled on a grid (and its first point):
    (r, fraction with radius ≥ r) at each sample's own radius, what a handful of samples can
    show without pretending to be a curve."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(y) == 0:
        return x, y
    keep = np.r_[np.abs(np.diff(y)) > 1e-12, True]
    keep[0] = True
    return x[keep], y[keep]


# the point marker that stands for a line style where few samples allow no curve
POINT_MARKERS = {"-": "o", "--": "x", ":": "+", "-.": "^"}


def plot_curve(ax, x, y, n: int, *, style: str = "-", marker: str | None = None, steps: bool = True, **kwargs):
    """A line over ``x``; with fewer than ``SMALL_N`` samples unconnected points instead, only
    at the ends of the levels where ``steps`` (a step curve on a fine grid)."""
    if n < SMALL_N:
        if steps:
            x, y = plateau_ends(x, y)
        return ax.plot(x, y, ls="none", marker=marker or POINT_MARKERS.get(style, "o"), ms=4, **kwargs)
    return ax.plot(x, y, style, marker=marker, **kwargs)


def points_where_few(ax, n: int) -> None:
    """The same for lines drawn already, e.g. by seaborn (reference lines keep their style)."""
    if n >= SMALL_N:
        return
    for line in ax.get_lines():
        if line.get_gid() == "reference":
            continue
        line.set_marker(POINT_MARKERS.get(line.get_linestyle(), "o"))  # the style, told by the marker
        line.set_markersize(5)
        line.set_linestyle("none")


def panel_title(dataset: str, *parts) -> str:
    return " / ".join(map(str, [dataset, *[p for p in parts if p not in (None, "")]]))


def dataset_meta(paths) -> dict[str, dict]:
    """``{dataset: meta}`` from ``results/data/<dataset>/meta.json`` files."""
    return {Path(p).parent.name: json.loads(Path(p).read_text()) for p in paths}


def wrap(n: int, columns: int = 4) -> tuple[int, int]:
    """(rows, columns) of a grid holding ``n`` panels at most ``columns`` wide."""
    columns = max(1, min(n, columns))
    return -(-n // columns), columns


def _panels(n: int, width: float = 4.0, height: float = 3.2, columns: int = 4, **kwargs):
    """``n`` panels wrapped into rows of at most ``columns``, the unused ones hidden.
    Returns (figure, the ``n`` axes in reading order)."""
    rows, columns = wrap(n, columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False, **kwargs)
    flat = axes.ravel()
    for ax in flat[n:]:
        ax.set_axis_off()
    return fig, flat[:n]


def _colour_scale(values: np.ndarray) -> dict:
    """Diverging and symmetric around zero for signed maps; sequential for magnitudes."""
    bound = max(float(np.abs(values).max()), 1e-12)
    if (values < 0).any():
        return {"cmap": "RdBu_r", "vmin": -bound, "vmax": bound}
    return {"cmap": "Reds", "vmin": 0.0, "vmax": bound}


def training_figure(history: pd.DataFrame) -> plt.Figure:
    """Validation accuracy per epoch; one panel per (dataset, model), one curve per λ, the
    chance level and the validation size (``num_classes``, ``val_size`` where the table has
    them)."""
    history = history.assign(panel=[panel_title(d, m) for d, m in zip(history["dataset"], history["model"])],
                             λ=history["lam"].map(format_lambda))
    lams = sorted(history["lam"].unique(), reverse=True)
    grid = sns.relplot(data=history, x="epoch", y="val_accuracy", hue="λ", col="panel", col_wrap=min(4, history["panel"].nunique()),
                       kind="line", marker="o", height=3.0, aspect=1.25,
                       hue_order=[format_lambda(lam) for lam in lams],
                       palette={format_lambda(lam): lambda_colour(lam) for lam in lams},
                       facet_kws={"sharex": False, "sharey": True})
    for panel, ax in grid.axes_dict.items():
        part = history[history["panel"] == panel]
        chance_line(ax, first_value(part, "num_classes"))
        if first_value(part, "val_size") is not None:
            show_n(ax, first_value(part, "val_size"), extra=" validation inputs")
        ax.set(title=panel, ylim=(0, 1.02), ylabel="val. accuracy (inputs masked at λ, λ/2)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    grid.set_xlabels("epoch")
    return grid.figure


def save(fig: plt.Figure, path) -> None:
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
