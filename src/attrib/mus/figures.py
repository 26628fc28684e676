"""MuS figures E1 (certified vs empirical stability), E2 (certified accuracy), E3 (sparsity) and
the masked accuracy, each drawn only from a tidy table that these functions also return."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrib.figures import (SMALL_N, _panels, chance_line, first_value, format_lambda, lambda_axis, lambda_colour,
                            method_colour, method_label, plot_curve, plt, show_n)
from attrib.mus.smoothing import certified_accuracy_at

CURVE_POINTS = 101


def _grid(table: pd.DataFrame, radius_columns) -> np.ndarray:
    """r/p from 0 to twice the largest certifiable radius 1/(2λ) (at least 2 flips) of the
    smallest λ, with every value that occurs below it (where the step curves jump)."""
    p = table["num_features"].to_numpy()
    end = 2 * max(np.floor(1 / (2 * table["lambda"].min()) + 1e-9), 1) / p.min()
    values = np.concatenate([np.asarray(table[c], dtype=float) / p for c in radius_columns])
    inside = values[np.isfinite(values) & (values <= end)]
    return np.unique(np.concatenate([np.linspace(0, end, CURVE_POINTS), inside]))


def _fraction_stable(consistent, radius, p, grid):
    """Fraction of samples consistent with radius ≥ r, on the grid of r/p."""
    ok = consistent[:, None] & (radius[:, None] >= grid[None] * p[:, None] - 1e-9)
    return ok.mean(axis=0)


# E1 certificate columns of the e1 table per variant: consistency, incremental and decremental radius
CERTIFIED_COLUMNS = {"no_mu": ("consistent", "flips_a_0", "flips_1_0"),
                     "mu": ("consistent_mu", "flips_a_a", "flips_1_a")}
DIRECTIONS = ("incremental", "decremental")


def _direction_curves(table: pd.DataFrame, consistent: str, radii: tuple[str, str], grid, **labels) -> pd.DataFrame:
    """The consistent-and-stable fraction vs r/p, incrementally and decrementally apart (rows
    ``direction``), as the MuS paper's panels: each property with its own radius."""
    p = table["num_features"].to_numpy()
    ok = table[consistent].to_numpy(bool)
    return pd.concat([pd.DataFrame({**labels, "direction": direction, "n": len(table), "radius_over_p": grid,
                                    "fraction": _fraction_stable(ok, table[radius].to_numpy(float), p, grid)})
                      for direction, radius in zip(DIRECTIONS, radii)], ignore_index=True)


def certified_stability_curves(e1: pd.DataFrame) -> pd.DataFrame:
    """E1 certified curves per (dataset, model, method, top-f, λ, variant, direction): consistent
    and certified with radius ≥ r, incrementally (adding features to α) and decrementally
    (removing features outside α) apart, without μ and with μ = α."""
    parts = []
    keys = ["dataset", "model", "method", "top_fraction"]
    for key, group in e1.groupby(keys, sort=False):
        grid = _grid(group, [c for columns in CERTIFIED_COLUMNS.values() for c in columns[1:]])
        for lam, table in group.groupby("lambda", sort=True):
            for variant, (consistent, *radii) in CERTIFIED_COLUMNS.items():
                parts.append(_direction_curves(table, consistent, radii, grid, **dict(zip(keys, key)),
                                               **{"lambda": lam}, variant=variant))
    return pd.concat(parts, ignore_index=True)


def attack_curves(attack: pd.DataFrame) -> pd.DataFrame:
    """On the attacked samples, per mode, μ and direction: the attacked classifier's own voting
    certificate (kind ``certified``) beside the attack's upper bound (kind ``empirical``), the
    pairs the soundness check compares."""
    parts = []
    keys = ["dataset", "model", "method", "top_fraction"]
    for key, group in attack.groupby(keys, sort=False):
        grid = _grid(group, ["flips_incremental", "flips_decremental", "r_max_incremental", "r_max_decremental"])
        for (lam, mode, with_mu), table in group.groupby(["lambda", "mode", "with_mu"], sort=True):
            labels = {**dict(zip(keys, key)), "lambda": lam, "mode": mode, "with_mu": with_mu}
            parts.append(_direction_curves(table, "certified_consistent", ("flips_incremental", "flips_decremental"),
                                           grid, **labels, kind="certified"))
            parts.append(_direction_curves(table, "consistent", ("r_max_incremental", "r_max_decremental"), grid,
                                           **labels, kind="empirical"))
    return pd.concat(parts, ignore_index=True)


def e1_main_curves(e1: pd.DataFrame, attack: pd.DataFrame) -> pd.DataFrame:
    """The E1 main figure's curves, as the paper's: certified (kind ``certified``, the e1
    table's voting certificate at its q, on every certified sample) and empirical (kind
    ``empirical``, the box attack's upper bound at the attack's q, on the attacked samples),
    for the attacked method, top-f and λs, incrementally and decrementally apart, without and
    (where attacked) with μ = α. λ is the requested one (``requested_lambda``), so both kinds
    of a λ share a colour."""
    parts = []
    for (dataset, model), attacked in attack.groupby(["dataset", "model"], sort=False):
        method, fraction = attacked["method"].iloc[0], attacked["top_fraction"].iloc[0]
        certified = e1[(e1["dataset"] == dataset) & (e1["model"] == model) & (e1["method"] == method)
                       & np.isclose(e1["top_fraction"], fraction)
                       & e1["requested_lambda"].isin(attacked["requested_lambda"].unique())]
        radii = [c for columns in CERTIFIED_COLUMNS.values() for c in columns[1:]]
        grid = np.union1d(_grid(certified, radii), _grid(attacked, ["r_max_incremental", "r_max_decremental"]))
        labels = {"dataset": dataset, "model": model, "method": method, "top_fraction": fraction}
        for with_mu in sorted(attacked["with_mu"].unique()):
            consistent, *inc_dec = CERTIFIED_COLUMNS["mu" if with_mu else "no_mu"]
            for lam, table in certified.groupby("requested_lambda", sort=True):
                parts.append(_direction_curves(table, consistent, inc_dec, grid, **labels, **{"lambda": lam},
                                               with_mu=with_mu, kind="certified", mode="voting", q=table["q"].iloc[0]))
        for (lam, mode, with_mu), table in attacked.groupby(["requested_lambda", "mode", "with_mu"], sort=True):
            parts.append(_direction_curves(table, "consistent", ("r_max_incremental", "r_max_decremental"), grid,
                                           **labels, **{"lambda": lam}, with_mu=with_mu, kind="empirical", mode=mode,
                                           q=table["q"].iloc[0]))
    return pd.concat(parts, ignore_index=True)


def soundness_violations(attack: pd.DataFrame, curves: pd.DataFrame) -> list[str]:
    """What would make the certificate unsound in the pipeline's own outputs (``curves`` from
    :func:`attack_curves`): a voting attack curve below the certified one at r > 0, a sample
    refuted within its certified radius, or a radius beyond 1/(2λ)."""
    problems = []
    voting = attack[attack["mode"] == "voting"]
    for direction in DIRECTIONS:
        bad = voting[voting[f"r_max_{direction}"] < voting[f"flips_{direction}"]]
        if len(bad):
            problems.append(f"{len(bad)} samples refuted {direction}ly within their certified radius")
    for column in ("flips_incremental", "flips_decremental"):
        over = attack[attack[column] > 1 / (2 * attack["lambda"]) + 1e-9]
        if len(over):
            problems.append(f"{len(over)} {column} beyond 1/(2λ)")
    voting_curves = curves[curves["mode"] == "voting"]
    if voting_curves.empty:  # a soft attack bounds another classifier: nothing to compare
        return problems
    keys = ["dataset", "model", "method", "top_fraction", "lambda", "with_mu", "direction", "radius_over_p"]
    pivot = voting_curves.pivot_table(index=keys, columns="kind", values="fraction")
    below = pivot[(pivot.index.get_level_values("radius_over_p") > 0) & (pivot["empirical"] < pivot["certified"] - 1e-12)]
    if len(below):
        problems.append(f"the empirical curve lies below the certified one at {len(below)} points with r > 0")
    return problems


def e1_main_figure(curves: pd.DataFrame) -> plt.Figure:
    """The MuS paper's four E1 panels per model (from :func:`e1_main_curves`, without μ): rows
    certified and empirical, columns consistent-and-incrementally and consistent-and-
    decrementally stable, vs r/p, one curve per λ (empirical: solid voting attack, dotted
    soft attack)."""
    curves = curves[~curves["with_mu"].astype(bool)]
    groups = list(curves.groupby(["dataset", "model"], sort=False))
    fig, axes = plt.subplots(2 * len(groups), 2, figsize=(9, 6.6 * len(groups)), squeeze=False, sharey=True)
    for i, ((dataset, model), table) in enumerate(groups):
        method, fraction = table["method"].iloc[0], table["top_fraction"].iloc[0]
        for row, kind in enumerate(("certified", "empirical")):
            part = table[table["kind"] == kind]
            for col, direction in enumerate(DIRECTIONS):
                ax = axes[2 * i + row, col]
                lines = part[part["direction"] == direction]
                for (lam, mode), line in lines.groupby(["lambda", "mode"], sort=True):
                    soft = mode != "voting"
                    plot_curve(ax, line["radius_over_p"], line["fraction"], int(line["n"].iloc[0]),
                               style=":" if soft else "-", color=lambda_colour(lam),
                               label=f"λ = {format_lambda(lam)}" + (" (soft)" if soft else ""))
                about = "" if lines.empty else f", q = {int(lines['q'].iloc[0])}"
                ax.set_title(f"{dataset} / {model}, {method_label(method)} top-{fraction:g}\n{kind} consistent and "
                             f"{direction[:3]}. stable{about}", fontsize=8)
                ax.set(xlabel="radius r / p", ylim=(0, 1.02))
                if col == 0:
                    ax.set_ylabel("fraction of samples")
                if not lines.empty:
                    show_n(ax, lines["n"], extra=" per λ")
                    ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def e1_grid_figure(curves: pd.DataFrame) -> plt.Figure:
    """Appendix grid: rows (dataset, model, method, direction), columns top-f; certified curves
    per λ, solid without μ, dotted with μ = α."""
    rows = list(curves.groupby(["dataset", "model", "method", "direction"], sort=False))
    fractions = sorted(curves["top_fraction"].unique())
    fig, axes = plt.subplots(len(rows), len(fractions), figsize=(3.2 * len(fractions), 2.6 * len(rows)),
                             squeeze=False, sharey=True)
    for i, ((dataset, model, method, direction), table) in enumerate(rows):
        for jf, fraction in enumerate(fractions):
            ax = axes[i, jf]
            part = table[table["top_fraction"] == fraction]
            for (lam, variant), line in part.groupby(["lambda", "variant"]):
                plot_curve(ax, line["radius_over_p"], line["fraction"], int(line["n"].iloc[0]),
                           style="-" if variant == "no_mu" else ":", color=lambda_colour(lam),
                           label=f"λ = {format_lambda(lam)}" if variant == "no_mu" else None)
            ax.set_title(f"{dataset} / {model} / {method_label(method)} / top-{fraction:g}: {direction[:3]}.",
                         fontsize=8)
            ax.set_ylim(0, 1.02)
            show_n(ax, part["n"], extra=" per λ")
            if jf == 0:
                ax.set_ylabel("certified consistent\nand stable")
            if i == len(rows) - 1:
                ax.set_xlabel("radius r / p")
    axes[0, 0].legend(fontsize=6, title="solid / ●: μ = 0, dotted / +: μ = α", title_fontsize=6, loc="center right")
    fig.tight_layout()
    return fig


def _dodge(i: int, count: int) -> float:
    """A factor that moves the i-th of ``count`` point series sideways on a log λ axis, so that
    equal values of few samples do not hide each other."""
    return 2 ** ((i - (count - 1) / 2) * 0.08)


def sparsity_summary(e3: pd.DataFrame) -> pd.DataFrame:
    keys = ["dataset", "model", "method", "with_mu", "lambda"]
    return e3.groupby(keys, sort=True).agg(mean_k_over_p=("k_over_p", "mean"), certified=("certified", "mean"),
                                           samples=("sample", "count")).reset_index()


def e3_figure(summary: pd.DataFrame) -> plt.Figure:
    """Mean k/p of the smallest certified top-k vs λ per method (solid without μ, dashed with
    μ = α), one panel per model."""
    groups = list(summary.groupby(["dataset", "model"], sort=False))
    fig, axes = _panels(len(groups))
    for ax, ((dataset, model), table) in zip(axes, groups):
        methods = list(table.groupby("method", sort=True))
        for i, (method, lines) in enumerate(methods):
            for with_mu, line in lines.groupby("with_mu"):
                few = line["samples"].min() < SMALL_N
                plot_curve(ax, line["lambda"] * (_dodge(i, len(methods)) if few else 1), line["mean_k_over_p"],
                           line["samples"].min(), steps=False,
                           style="--" if with_mu else "-", marker="o" if not with_mu else "s",
                           color=method_colour(method), label=method_label(method) if not with_mu else None)
        lambda_axis(ax, table["lambda"])
        ax.set(title=f"{dataset} / {model}: E3 sparsity", ylabel="mean k / p of the certified top-k",
               ylim=(0, 1.05))
        show_n(ax, table["samples"], extra=" per point")
        ax.legend(fontsize=7, title="solid / ●: μ = 0, dashed / ■: μ = α", title_fontsize=7)
    fig.tight_layout()
    return fig


def masked_accuracy(e1: pd.DataFrame) -> pd.DataFrame:
    """Accuracy of f(x ⊙ α) (top-f explanation, μ = 0) and of f(x) per λ and method."""
    table = e1.assign(correct_masked=e1["pred_a_0"] == e1["label"], correct_full=e1["pred_1_0"] == e1["label"])
    keys = ["dataset", "model", "method", "top_fraction", "lambda"]
    return table.groupby(keys, sort=True).agg(masked_accuracy=("correct_masked", "mean"),
                                              full_accuracy=("correct_full", "mean"),
                                              samples=("correct_full", "size")).reset_index()


def masked_accuracy_figure(table: pd.DataFrame) -> plt.Figure:
    """Masked accuracy vs λ per method; rows top-f, columns model; grey: f(x) unmasked; the
    chance level where the table has ``num_classes``."""
    models = list(table.groupby(["dataset", "model"], sort=False).groups)
    fractions = sorted(table["top_fraction"].unique())
    fig, axes = plt.subplots(len(fractions), len(models), figsize=(3.8 * len(models), 2.7 * len(fractions)),
                             squeeze=False, sharey=True)
    for jm, (dataset, model) in enumerate(models):
        for i, fraction in enumerate(fractions):
            ax = axes[i, jm]
            part = table[(table["dataset"] == dataset) & (table["model"] == model) & (table["top_fraction"] == fraction)]
            few = part["samples"].min() < SMALL_N
            lines = list(part.groupby("method", sort=True))
            for k, (method, line) in enumerate(lines):
                ax.plot(line["lambda"] * (_dodge(k, len(lines)) if few else 1), line["masked_accuracy"], marker="o",
                        ls="none" if few else "-", color=method_colour(method), label=method_label(method))
            full = part.groupby("lambda")["full_accuracy"].first()
            ax.plot(full.index, full.to_numpy(), color="grey", ls="none" if few else ":", marker="x" if few else None,
                    label="f(x), whole input")
            chance_line(ax, first_value(part, "num_classes"))
            lambda_axis(ax, part["lambda"])
            ax.set(ylim=(0, 1.02), title=f"{dataset} / {model} / top-{fraction:g}")
            ax.title.set_fontsize(8)
            show_n(ax, part["samples"], extra=" per λ")
            if jm == 0:
                ax.set_ylabel("accuracy of f(x ⊙ α)")
            if i != len(fractions) - 1:
                ax.set_xlabel("")
    axes[0, 0].legend(fontsize=6)
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
        curve = certified_accuracy_at(table, radii)
        curve["radius_over_p"] = curve["radius"] / int(table["num_features"].iloc[0])
        clean = table.groupby("lambda")["correct"].mean()
        retained = clean / clean.get(1.0, np.nan)
        curve = curve.join(pd.DataFrame({"clean_accuracy": clean, "clean_accuracy_retained": retained,
                                         "samples": table.groupby("lambda").size()}), on="lambda")
        curve.insert(0, "model", model)
        curve.insert(0, "dataset", dataset)
        parts.append(curve)
    return pd.concat(parts, ignore_index=True)


def certified_accuracy_figure(curve: pd.DataFrame) -> plt.Figure:
    """One row per dataset: a panel per model (certified accuracy vs r/p, a curve per λ, the
    chance level where the table has ``num_classes``), then the clean accuracy each model keeps
    relative to λ = 1, against λ (one line per model)."""
    datasets = list(dict.fromkeys(curve["dataset"]))
    columns = max(curve[curve["dataset"] == d]["model"].nunique() for d in datasets) + 1
    fig, axes = plt.subplots(len(datasets), columns, figsize=(4.2 * columns, 3.4 * len(datasets)), squeeze=False)
    for row, dataset in zip(axes, datasets):
        part = curve[curve["dataset"] == dataset]
        models = list(part.groupby("model", sort=False))
        for ax, (model, table) in zip(row, models):
            for lam, line in sorted(table.groupby("lambda"), key=lambda item: -item[0]):
                label = f"λ = {format_lambda(lam)} (clean {line['clean_accuracy'].iloc[0]:.2f})"
                plot_curve(ax, line["radius_over_p"], line["certified_accuracy"], line["samples"].iloc[0],
                           color=lambda_colour(lam), label=label)
            chance_line(ax, first_value(table, "num_classes"))
            ax.set(title=f"{dataset} / {model}: E2 certified accuracy", xlabel="certified radius r / p",
                   ylabel="certified accuracy", ylim=(0, 1.02))
            show_n(ax, table["samples"], extra=" per λ")
            ax.legend(fontsize=7, loc="upper right")
        ax = row[-1]
        for i, (model, table) in enumerate(models):
            clean = table.groupby("lambda")["clean_accuracy_retained"].first()
            ax.plot(clean.index, clean.to_numpy(), marker="os^Dv"[i % 5], color="0.15", ls=("-", "--", ":", "-.")[i % 4],
                    label=model)
        lambda_axis(ax, part["lambda"])
        ax.axhline(1, color="grey", lw=0.8)
        ax.set(title=f"{dataset}: clean accuracy kept", ylabel="clean acc. / clean acc. at λ = 1", ylim=(0, 1.1))
        show_n(ax, part["samples"], extra=" per λ")
        ax.legend(fontsize=7, loc="lower left")
        for ax in row[len(models):-1]:
            ax.axis("off")
    fig.tight_layout()
    return fig
