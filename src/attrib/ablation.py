"""Patch ablation: remove features in a given order and watch the prediction (missingness §3).

Removing k features = keep-mask with the first k entries of the image's ordering set to 0,
realised by the model's removal mode (black, mean, ..., or ViT token dropping). All
images × steps are evaluated in chunked batches. See ``shared/spec/missingness.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch


def random_orderings(n: int, p: int, seed: int, feature_mask: torch.Tensor | None = None) -> torch.Tensor:
    """(n, p) long: an independent uniformly random permutation of the features per image.

    With a ``feature_mask`` (text: real tokens), real features come first in random order and
    the positions that are not features (specials, padding) last.
    """
    scores = torch.rand(n, p, generator=torch.Generator().manual_seed(seed))
    if feature_mask is not None:
        scores = scores + 2.0 * (~feature_mask.bool()).float()
    return scores.argsort(dim=1)


def saliency_orderings(features: torch.Tensor, descending: bool = True) -> torch.Tensor:
    """(N, p) long: features ranked by score (most salient first by default); ties by index."""
    return torch.sort(features, dim=1, descending=descending, stable=True).indices


def ranks(order: torch.Tensor) -> torch.Tensor:
    """Inverse permutations: rank[i, order[i, j]] = j, so step k keeps features with rank ≥ k."""
    positions = torch.arange(order.shape[1], device=order.device).expand_as(order)
    return torch.empty_like(order).scatter_(1, order, positions)


@torch.no_grad()
def patch_ablation(
    model, x, order, *, steps=None, removal=None, chunk_size=512, generator=None, feature_mask=None
) -> pd.DataFrame:
    """One row per (image, k removed): prediction, whether it equals the prediction with
    nothing removed, and the softmax probability of that original class.

    ``steps`` lists the k to evaluate (default every k from 0 to p). ``generator`` drives the
    random removal modes through the model's ``generator`` attribute (restored afterwards).
    With a ``feature_mask`` (text, where inputs have different numbers of real features n_i),
    step k removes round(k·n_i/p) of input i's features, so every step is the same fraction
    of each input; orderings must list the real features first.
    """
    n, p = order.shape
    steps = torch.arange(p + 1) if steps is None else torch.as_tensor(list(steps), dtype=torch.long)
    steps = steps.to(x.device)
    rank = ranks(order.to(x.device))
    counts = torch.full((n,), p, device=x.device) if feature_mask is None else feature_mask.sum(1).to(x.device)
    per_row = torch.round(steps.unsqueeze(0) * counts.unsqueeze(1) / p).long()  # (n, steps)
    previous = getattr(model, "generator", None)
    if generator is not None:
        model.generator = generator
    try:
        orig_pred = torch.cat([model(x[a:a + chunk_size]).argmax(dim=1) for a in range(0, n, chunk_size)])
        preds, probs = [], []
        total = n * len(steps)
        for a in range(0, total, chunk_size):
            rows = torch.arange(a, min(a + chunk_size, total), device=x.device)
            image = rows // len(steps)
            k = per_row[image, rows % len(steps)]
            keep = (rank[image] >= k.unsqueeze(1)).float()
            prob = model(x[image], keep=keep, removal=removal).softmax(dim=1)
            preds.append(prob.argmax(dim=1))
            probs.append(prob.gather(1, orig_pred[image].unsqueeze(1)).squeeze(1))
    finally:
        if generator is not None:
            model.generator = previous
    pred = torch.cat(preds).cpu().numpy()
    orig = orig_pred.cpu().numpy().repeat(len(steps))
    removed = np.tile(steps.cpu().numpy(), n)
    fraction = (per_row.float() / counts.clamp(min=1).unsqueeze(1).float()).flatten().cpu().numpy()
    return pd.DataFrame({
        "image": np.arange(n).repeat(len(steps)),
        "removed": removed,
        "fraction_removed": fraction,
        "pred": pred,
        "orig_pred": orig,
        "unchanged": pred == orig,
        "prob_orig": torch.cat(probs).cpu().numpy(),
    })


def class_entropy(table: pd.DataFrame) -> pd.DataFrame:
    """Entropy (in nats) of the predicted-class histogram over the images at each step."""
    counts = table.groupby(["removed", "pred"]).size()
    freq = counts / counts.groupby(level="removed").transform("sum")
    entropy = (freq * np.log(1 / freq)).groupby(level="removed").sum()
    return entropy.rename("entropy_nats").reset_index()


def unchanged_curve(table: pd.DataFrame) -> pd.DataFrame:
    """Per step: fraction of predictions unchanged and mean probability of the original class."""
    return (table.groupby("removed", as_index=False)
            .agg(fraction_removed=("fraction_removed", "first"), unchanged=("unchanged", "mean"),
                 prob_orig=("prob_orig", "mean"), images=("image", "size")))
