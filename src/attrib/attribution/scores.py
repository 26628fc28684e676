"""Faithfulness and localisation scores of attributions.

* DiffID, the re-calibration paper's metric: pixels ranked by the attribution are replaced by
  the mean of the pixels that stay, and the target logit ratio / top-1 correctness of the
  "insertion" game (least relevant removed) minus the "deletion" game (most relevant removed).
* The classic deletion / insertion curves (black or blurred baseline) on the feature grid.
* Ground-truth localisation on ``digits``: pointing game, relevance mass, mask ROC-AUC.

Every perturbed input of every image is evaluated in chunked batches of ``chunk_size`` rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from attrib.features import pixel_to_features, ranks
from attrib.models.base import chunked_logits, class_targets

DIFFID_RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
GAMES = ("insertion", "deletion")
CURVE_BASELINES = ("black", "blur")


def diffid_scores(attribution_map: torch.Tensor) -> torch.Tensor:
    """(N, H·W) pixel relevance: |map| summed over channels, min-max scaled to [0, 1] per image.

    A constant map scales to all zeros, so its ranking is decided by the tie-break alone.
    """
    m = attribution_map.detach().abs()
    if m.dim() == 4:
        m = m.sum(dim=1)
    m = m.flatten(1).float()
    low = m.min(dim=1, keepdim=True).values
    span = m.max(dim=1, keepdim=True).values - low
    return (m - low) / torch.where(span > 0, span, torch.ones_like(span))


def removal_counts(ratios: Sequence[float], num_pixels: int) -> torch.Tensor:
    """(R,) long: pixels removed at each ratio, round-half-up of r·P (so 0.5 of 5 pixels is 3).

    At least one pixel must stay, since the removed ones take the mean of those that stay.
    """
    r = torch.as_tensor(list(ratios), dtype=torch.float64)
    if bool(((r < 0) | (r >= 1)).any()):
        raise ValueError(f"DiffID ratios must lie in [0, 1), got {list(ratios)}")
    k = torch.floor(r * num_pixels + 0.5).long()
    if bool((k >= num_pixels).any()):
        raise ValueError(f"a ratio of {list(ratios)} removes all {num_pixels} pixels")
    return k


@torch.no_grad()
def diffid(
    model,
    x: torch.Tensor,
    attribution_map: torch.Tensor,
    target=None,
    *,
    ratios: Sequence[float] = DIFFID_RATIOS,
    chunk_size: int = 512,
    logits: torch.Tensor | None = None,
) -> pd.DataFrame:
    """One row per (image, ratio, game): ``logit_ratio`` f_t(x′)/f_t(x) and ``correct`` (argmax = t).

    Pixels are ranked by :func:`diffid_scores`, most relevant first, ties by pixel index (stable
    sort); deletion removes the first round(r·P) pixels of that ranking, insertion the last
    round(r·P). The filler is computed where the spec puts it, in the model's normalised input
    space: x′ is built from ``model.normalise(x)``, every value of every removed pixel takes one
    per-image scalar, the mean over all channels of the preserved pixels (as the authors'
    evaluator does; with per-channel std a pixel-space mean would differ), and x′ goes straight
    to ``model.net``, which is what the wrapper calls after normalising, so the filler reaches
    the network exactly instead of through a rounding round trip via pixel space. ``target``
    defaults to the predicted class; ``logits``, the unperturbed forward ``model(x)``, is computed
    when not given.
    """
    n, c, h, w = x.shape
    num_pixels = h * w
    rank = ranks(torch.sort(diffid_scores(attribution_map).to(x.device), dim=1, descending=True,
                            stable=True).indices)
    counts = removal_counts(ratios, num_pixels).to(x.device)
    x_norm = model.normalise(x).flatten(2)  # (N, C, P)
    base = chunked_logits(model, x, chunk_size=chunk_size) if logits is None else logits
    t = class_targets(target, base)
    base_logit = base.gather(1, t.unsqueeze(1)).squeeze(1)

    per_image = len(counts) * len(GAMES)
    total = n * per_image
    logit_ratio, correct = [], []
    for a in range(0, total, chunk_size):
        rows = torch.arange(a, min(a + chunk_size, total), device=x.device)
        image, k = rows // per_image, counts[(rows // len(GAMES)) % len(counts)].unsqueeze(1)
        deletion = (rows % len(GAMES) == GAMES.index("deletion")).unsqueeze(1)
        r = rank[image]
        removed = torch.where(deletion, r < k, r >= num_pixels - k).unsqueeze(1)  # (rows, 1, P)
        xn = x_norm[image]
        kept = (~removed).to(xn.dtype)
        fill = (xn * kept).sum(dim=(1, 2), keepdim=True) / (c * kept.sum(dim=(1, 2), keepdim=True))
        logits = model.net(torch.where(removed, fill, xn).view(-1, c, h, w))
        logit_ratio.append(logits.gather(1, t[image].unsqueeze(1)).squeeze(1) / base_logit[image])
        correct.append(logits.argmax(dim=1) == t[image])
    return pd.DataFrame({
        "image": np.arange(n).repeat(per_image),
        "ratio": np.tile(np.asarray(ratios, dtype=float).repeat(len(GAMES)), n),
        "game": np.tile(np.array(GAMES), n * len(counts)),
        "logit_ratio": torch.cat(logit_ratio).cpu().numpy(),
        "correct": torch.cat(correct).cpu().numpy(),
    })


def diffid_summary(table: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Per ratio (and ``by`` columns, e.g. method): game means and DiffID(r) = insertion − deletion,
    for the logit ratio and for accuracy (mean correctness)."""
    keys = [*by, "ratio"]
    means = table.groupby([*keys, "game"])[["logit_ratio", "correct"]].mean().unstack("game")
    out = pd.DataFrame({
        "insertion_logit_ratio": means[("logit_ratio", "insertion")],
        "deletion_logit_ratio": means[("logit_ratio", "deletion")],
        "insertion_accuracy": means[("correct", "insertion")].astype(float),
        "deletion_accuracy": means[("correct", "deletion")].astype(float),
    })
    out["diffid_logit"] = out["insertion_logit_ratio"] - out["deletion_logit_ratio"]
    out["diffid_accuracy"] = out["insertion_accuracy"] - out["deletion_accuracy"]
    return out.reset_index()


def diffid_auc(table: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Area under DiffID(r) over the evaluated ratios by the trapezoid rule (not divided by the
    ratio span), one row per ``by`` group; ``integration`` records the rule for the tables."""
    summary = diffid_summary(table, by).sort_values([*by, "ratio"])
    groups = summary.groupby(list(by), sort=True) if by else [((), summary)]
    rows = []
    for key, g in groups:  # one row per method/model, not per image or ratio
        r = g["ratio"].to_numpy()
        rows.append({
            **dict(zip(by, key)),
            "diffid_logit_auc": float(np.trapezoid(g["diffid_logit"].to_numpy(), r)),
            "diffid_accuracy_auc": float(np.trapezoid(g["diffid_accuracy"].to_numpy(), r)),
            "ratio_min": float(r.min()),
            "ratio_max": float(r.max()),
            "integration": "trapezoid",
        })
    return pd.DataFrame(rows)


def step_counts(num_features: int, steps: int | None) -> torch.Tensor:
    """(S+1,) long: features moved after each of ``steps`` equal steps, round(j·p/S); None = every feature."""
    steps = num_features if steps is None else int(steps)
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    return torch.floor(torch.arange(steps + 1, dtype=torch.float64) * num_features / steps + 0.5).long()


@torch.no_grad()
def deletion_insertion_curves(
    model,
    x: torch.Tensor,
    features_or_map: torch.Tensor,
    target=None,
    *,
    steps: int | None = None,
    baseline: str | None = "black",
    chunk_size: int = 512,
    logits: torch.Tensor | None = None,
) -> pd.DataFrame:
    """Classic curves on the feature (patch) grid: softmax probability of the target per step.

    Features are ranked by score, highest first, ties by index; a pixel-level map is first
    reduced to features by :func:`attrib.features.pixel_to_features` (mean |map| per patch).
    Deletion replaces the k most relevant features by the baseline; insertion starts from the
    baseline image (black, or the blurred image) and restores the k most relevant. Removal goes
    through the model's keep-masks, so it is patch-level, as in ``attrib.missingness.ablation``; ``baseline``
    None is the model's own removal (text: the [MASK] token). One row per (image, game, step)
    with ``fraction`` = k/p moved.

    The curves' ends are two inputs per image whatever the ranking, the input itself (deletion
    at 0, insertion at p: ``logits``, the unperturbed forward, computed when not given) and the
    all-baseline input (deletion at p, insertion at 0), so each is evaluated once.
    """
    if baseline is not None and baseline not in CURVE_BASELINES:
        raise ValueError(f"baseline must be one of {CURVE_BASELINES}, got {baseline!r}")
    scores = features_or_map if features_or_map.dim() == 2 else pixel_to_features(features_or_map, model.patch)
    n, p = scores.shape
    rank = ranks(torch.sort(scores.detach().to(x.device), dim=1, descending=True, stable=True).indices)
    counts = step_counts(p, steps).to(x.device)
    if logits is None:
        logits = chunked_logits(model, x, chunk_size=chunk_size)
    t = class_targets(target, logits)
    empty = chunked_logits(model, x, keep=torch.zeros(n, p, device=x.device), removal=baseline, chunk_size=chunk_size)

    def target_prob(out: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return out.softmax(dim=1).gather(1, t[image].unsqueeze(1)).squeeze(1)

    images = torch.arange(n, device=x.device)
    probs = torch.empty(n, len(GAMES), len(counts), device=x.device)
    deletion, insertion = GAMES.index("deletion"), GAMES.index("insertion")
    probs[:, deletion, 0] = probs[:, insertion, -1] = target_prob(logits, images)
    probs[:, deletion, -1] = probs[:, insertion, 0] = target_prob(empty, images)
    inner = counts[1:-1]
    per_image = len(GAMES) * len(inner)
    total = n * per_image
    for a in range(0, total, chunk_size):
        rows = torch.arange(a, min(a + chunk_size, total), device=x.device)
        image, step = rows // per_image, rows % len(inner)
        game = (rows // len(inner)) % len(GAMES)
        r, k = rank[image], inner[step].unsqueeze(1)
        keep = torch.where((game == deletion).unsqueeze(1), r >= k, r < k).to(x.dtype)
        probs[image, game, step + 1] = target_prob(model(x[image], keep=keep, removal=baseline), image)
    k = counts.cpu().numpy()
    return pd.DataFrame({
        "image": np.arange(n).repeat(len(GAMES) * len(k)),
        "game": np.tile(np.array(GAMES).repeat(len(k)), n),
        "step": np.tile(k, n * len(GAMES)),
        "fraction": np.tile(k / p, n * len(GAMES)),
        "prob": probs.flatten().cpu().numpy(),
    })


def curve_auc(curves: pd.DataFrame) -> pd.DataFrame:
    """Per (image, game): trapezoid area under the target probability over the fraction moved
    (deletion: lower is better; insertion: higher is better)."""
    curves = curves.sort_values(["image", "game", "fraction"], kind="stable")
    keys = curves[["image", "game"]].drop_duplicates()
    s = len(curves) // len(keys)
    prob = curves["prob"].to_numpy().reshape(-1, s)
    fraction = curves["fraction"].to_numpy().reshape(-1, s)
    return keys.assign(auc=np.trapezoid(prob, fraction, axis=1), integration="trapezoid").reset_index(drop=True)


def patch_digit_fraction(mask: torch.Tensor, patch: int) -> torch.Tensor:
    """(N, p): fraction of each patch's pixels that are digit pixels."""
    return F.avg_pool2d(mask.float().unsqueeze(1), kernel_size=patch, stride=patch).flatten(1)


def patch_inside(mask: torch.Tensor, patch: int) -> torch.Tensor:
    """bool (N, p): a patch is inside the digit when at least half of its pixels are digit pixels."""
    return patch_digit_fraction(mask, patch) >= 0.5


def pointing_game(features: torch.Tensor, mask: torch.Tensor, patch: int) -> torch.Tensor:
    """(N,) bool: is the top-scoring feature (first on ties) a patch inside the digit?

    Feature level for every method alike: methods without a pixel map get the same rule.
    """
    top = features.argmax(dim=1, keepdim=True)
    return patch_inside(mask, patch).to(features.device).gather(1, top).squeeze(1)


def relevance_mass(features: torch.Tensor, mask: torch.Tensor, patch: int) -> torch.Tensor:
    """(N,) fraction of the positive attribution mass that falls on digit pixels.

    A patch's mass counts in proportion to its digit-pixel fraction, i.e. its relevance is spread
    evenly over its pixels. NaN when an image has no positive mass.
    """
    pos = features.clamp(min=0)
    inside = (pos * patch_digit_fraction(mask, patch).to(pos)).sum(dim=1)
    total = pos.sum(dim=1)
    return torch.where(total > 0, inside / torch.where(total > 0, total, 1), torch.nan)


def mask_auc(features: torch.Tensor, mask: torch.Tensor, patch: int) -> torch.Tensor:
    """(N,) ROC-AUC of feature scores for separating inside from outside patches.

    Mann–Whitney form with average ranks for ties, all images at once; NaN when an image has no
    inside or no outside patch.
    """
    labels = patch_inside(mask, patch).to(features.device)
    scores = features.detach().double()
    ordered = scores.sort(dim=1).values
    below = torch.searchsorted(ordered, scores, right=False)
    upto = torch.searchsorted(ordered, scores, right=True)
    avg_rank = (below + upto + 1).double() / 2  # 1-based mean rank of the tied block
    pos = labels.sum(dim=1).double()
    neg = labels.shape[1] - pos
    u = (avg_rank * labels).sum(dim=1) - pos * (pos + 1) / 2
    return torch.where((pos > 0) & (neg > 0), u / (pos * neg), torch.nan)


def ground_truth_table(features: torch.Tensor, mask: torch.Tensor, patch: int) -> pd.DataFrame:
    """One row per image: pointing game hit, relevance mass inside, mask ROC-AUC."""
    return pd.DataFrame({
        "image": np.arange(features.shape[0]),
        "pointing": pointing_game(features, mask, patch).cpu().numpy(),
        "relevance_mass": relevance_mass(features, mask, patch).cpu().numpy(),
        "mask_auc": mask_auc(features, mask, patch).cpu().numpy(),
    })


def attribution_scores(model, x: torch.Tensor, features: torch.Tensor, magnitude: torch.Tensor | None, target, *,
                       masks: torch.Tensor | None = None, curve_steps: int, curve_baseline: str,
                       chunk_size: int) -> dict[str, pd.DataFrame]:
    """Every score of one method's attributions, as the attribute stage writes them.

    ``deletion_insertion``: per-image curve AUCs (images: ``curve_baseline``; text: the model's
    [MASK] removal). Images only: ``diffid`` on the pixel ``magnitude`` map (N, H, W) and, where
    ground-truth ``masks`` exist, ``ground_truth`` (pointing, relevance mass, mask AUC); empty
    tables with their columns otherwise, so every (dataset, model, method) has the same files.
    """
    image = model.modality == "image"
    baseline = curve_baseline if image else None
    logits = chunked_logits(model, x, chunk_size=chunk_size)  # the unperturbed forward, shared
    curves = deletion_insertion_curves(model, x, features, target, steps=curve_steps, baseline=baseline,
                                       chunk_size=chunk_size, logits=logits)
    scores = {
        "deletion_insertion": curve_auc(curves).assign(baseline=baseline or "mask_token"),
        "diffid": pd.DataFrame(columns=["image", "game", "ratio", "logit_ratio", "correct"]),
        "ground_truth": pd.DataFrame(columns=["image", "pointing", "relevance_mass", "mask_auc"]),
    }
    if image:
        scores["diffid"] = diffid(model, x, magnitude.unsqueeze(1), target, chunk_size=chunk_size, logits=logits)
        if masks is not None:
            scores["ground_truth"] = ground_truth_table(features, masks, model.patch)
    return scores
