"""Patch ablation and the top-K test: remove features in a given order and watch the prediction
(missingness §3 and §4).

Removing k features = keep-mask with the first k entries of the image's ordering set to 0,
realised by the model's removal mode (black, mean, ..., ViT token dropping, text deletion).
All images × steps are evaluated in chunked batches, step-major: one chunk holds images at the
same step, so token-dropping models see batches whose kept sets have equal sizes (no padding).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from attrib.features import ranks
from attrib.models.base import chunked_logits, require_feature_classifier
from attrib.seeding import KeyedRows, prefix_rows, sample_indices


def random_orderings(
    n: int, p: int, seed: int, feature_mask: torch.Tensor | None = None, start: int = 0
) -> torch.Tensor:
    """(n, p) long: an independent uniformly random permutation of the features per image, for
    the images ``start``, ..., ``start + n − 1`` of the evaluation set (a shard gets the rows
    that the whole set would).

    With a ``feature_mask`` (text: real tokens), real features come first in random order and
    the positions that are not features (specials, padding) last.
    """
    scores = prefix_rows(seed, range(start, start + n), (p,))
    if feature_mask is not None:
        scores = scores + 2.0 * (~feature_mask.bool()).float()
    return scores.argsort(dim=1)


def saliency_orderings(
    features: torch.Tensor, descending: bool = True, feature_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """(N, p) long: features ranked by score (most salient first by default); ties by index.

    With a ``feature_mask``, positions that are not features come last in either direction, as
    ``patch_ablation`` expects of text orderings.
    """
    scores = features.float() if descending else -features.float()
    if feature_mask is not None:
        scores = scores.masked_fill(~feature_mask.bool().to(scores.device), -torch.inf)
    return torch.sort(scores, dim=1, descending=True, stable=True).indices


@torch.no_grad()
def sweep(model, x, order, counts, *, keep_top=False, removal=None, chunk_size=512, orig_logits=None, index=None):
    """Evaluate every (image i, step j): remove the first ``counts[i, j]`` features of
    ``order[i]`` (or, with ``keep_top``, keep only them). Returns (pred, prob_orig, orig_pred),
    the first two (N, S), where prob_orig is the softmax probability of the class predicted with
    nothing removed. Steps that remove nothing reuse the plain forward pass instead of a new one.
    Where the model's generator is an ``attrib.seeding.KeyedRows``, the random fill of image i
    with k features removed is keyed by (``index[i]``, k): the evaluation-set index (default i).
    """
    n, steps = counts.shape
    p = order.shape[1]
    rank = ranks(order.to(x.device))
    counts = counts.to(x.device)
    if orig_logits is None:
        orig_logits = chunked_logits(model, x, chunk_size=chunk_size)
    orig_pred = orig_logits.argmax(dim=1)
    pred = orig_pred[:, None].repeat(1, steps)
    prob = orig_logits.softmax(dim=1).gather(1, orig_pred[:, None]).repeat(1, steps)
    flat = counts.t().flatten()  # step-major: row r is (image r % n, step r // n)
    rows = torch.arange(n * steps, device=x.device)
    nothing_removed = flat >= p if keep_top else flat == 0
    keyed = isinstance(getattr(model, "generator", None), KeyedRows)
    index = torch.as_tensor(sample_indices(n, index))
    for chunk in rows[~nothing_removed].split(chunk_size):
        image, step = chunk % n, chunk // n
        k = flat[chunk, None]
        if keyed:
            model.generator.keys = list(zip(index[image.cpu()].tolist(), k[:, 0].tolist()))
        keep = rank[image] < k if keep_top else rank[image] >= k
        probs = model(x[image], keep=keep.float(), removal=removal).softmax(dim=1)
        pred[image, step] = probs.argmax(dim=1)
        prob[image, step] = probs.gather(1, orig_pred[image, None]).squeeze(1)
    return pred, prob, orig_pred


def patch_ablation(
    model, x, order, *, steps=None, removal=None, chunk_size=512, generator=None, feature_mask=None, index=None
) -> pd.DataFrame:
    """One row per (image, k removed): prediction, whether it equals the prediction with
    nothing removed, and the softmax probability of that original class; ``image`` is the
    evaluation-set ``index`` of the image (default 0..N−1).

    ``steps`` lists the k to evaluate (default every k from 0 to p). ``generator`` (a
    ``torch.Generator``, or a ``KeyedRows`` that keys each fill by (index, k), whatever the
    batching or sharding) drives the random removal modes through the model's ``generator``
    attribute (restored afterwards).
    With a ``feature_mask`` (text, where inputs have different numbers of real features n_i),
    step k removes round(k·n_i/p) of input i's features, so every step is the same fraction
    of each input; orderings must list the real features first.
    """
    require_feature_classifier(model, "patch_ablation")
    n, p = order.shape
    steps = torch.arange(p + 1) if steps is None else torch.as_tensor(list(steps), dtype=torch.long)
    steps = steps.to(x.device)
    counts = torch.full((n,), p, device=x.device) if feature_mask is None else feature_mask.sum(1).to(x.device)
    per_row = torch.round(steps.unsqueeze(0) * counts.unsqueeze(1) / p).long()  # (n, steps)
    with generator_of(model, generator):
        pred, prob, orig_pred = sweep(model, x, order, per_row, removal=removal, chunk_size=chunk_size, index=index)
    fraction = per_row.float() / counts.clamp(min=1).unsqueeze(1).float()
    return pd.DataFrame({
        "image": np.asarray(sample_indices(n, index)).repeat(len(steps)),
        "removed": np.tile(steps.cpu().numpy(), n),
        "fraction_removed": fraction.flatten().cpu().numpy(),
        "pred": pred.flatten().cpu().numpy(),
        "orig_pred": orig_pred.cpu().numpy().repeat(len(steps)),
        "unchanged": (pred == orig_pred[:, None]).flatten().cpu().numpy(),
        "prob_orig": prob.flatten().cpu().numpy(),
    })


class generator_of:
    """Context manager: the model's random removal modes draw from ``generator`` inside it."""

    def __init__(self, model, generator):
        self.model, self.generator = model, generator

    def __enter__(self):
        self.previous = getattr(self.model, "generator", None)
        if self.generator is not None:
            self.model.generator = self.generator

    def __exit__(self, *exc):
        if self.generator is not None:
            self.model.generator = self.previous


def top_k_steps(p: int, skip: int, max_fraction: float) -> list[int]:
    """k = 1, 1 + skip, ... up to round(max_fraction · p) (paper: 1, 3, ..., 49 of 196)."""
    top = max(1, int(round(max_fraction * p)))
    return list(range(1, top + 1, skip))


def top_k_ablation(model, x, orders: dict, ks, *, removal=None, chunk_size=512, generator=None) -> pd.DataFrame:
    """The top-K test: for each explanation source (name -> (N, p) ordering, most important
    first), remove the top-k features, and separately keep only them; one row per
    (source, test, k, image) with whether the prediction is unchanged and the original class's
    probability. The plain forward pass is shared by all sources."""
    ks = torch.as_tensor(list(ks), dtype=torch.long, device=x.device)
    orig_logits = chunked_logits(model, x, chunk_size=chunk_size)
    parts = []
    with generator_of(model, generator):
        for source, order in orders.items():
            counts = ks.expand(x.shape[0], -1)
            for test, keep_top in (("remove", False), ("keep", True)):
                pred, prob, orig = sweep(model, x, order, counts, keep_top=keep_top, removal=removal,
                                         chunk_size=chunk_size, orig_logits=orig_logits)
                parts.append(pd.DataFrame({
                    "source": source,
                    "test": test,
                    "k": np.tile(ks.cpu().numpy(), x.shape[0]),
                    "image": np.arange(x.shape[0]).repeat(len(ks)),
                    "pred": pred.flatten().cpu().numpy(),
                    "orig_pred": orig.cpu().numpy().repeat(len(ks)),
                    "unchanged": (pred == orig[:, None]).flatten().cpu().numpy(),
                    "prob_orig": prob.flatten().cpu().numpy(),
                }))
    return pd.concat(parts, ignore_index=True)


def entropy_bits(labels) -> float:
    """Entropy (bits) of the histogram of ``labels``."""
    freq = pd.Series(labels).value_counts(normalize=True).to_numpy()
    return float((freq * np.log2(1 / freq)).sum())


def ablation_summary(samples: pd.DataFrame, keys: list[str], step: str = "removed") -> pd.DataFrame:
    """Per group of ``keys`` and ``step``: fraction removed (mean, where the samples have it),
    fraction of predictions unchanged, mean probability of the original class, number of images
    and the predicted-class entropy (bits)."""
    groups = samples.groupby([*keys, step], sort=False)
    columns = {"unchanged": ("unchanged", "mean"), "prob_orig": ("prob_orig", "mean"), "images": ("image", "size")}
    if "fraction_removed" in samples:
        columns = {"fraction_removed": ("fraction_removed", "mean"), **columns}
    curve = groups.agg(**columns)
    curve["class_entropy_bits"] = groups["pred"].agg(entropy_bits)
    return curve.reset_index()


def top_classes(samples: pd.DataFrame, keys: list[str], fraction: float = 0.5, top: int = 5) -> pd.DataFrame:
    """The ``top`` most-predicted classes at the step closest to ``fraction`` removed, with the
    share of images predicted as each there and with nothing removed (the collapse of a
    blacked-out model onto a few classes shows as shares far above 1/num_classes)."""
    rows = []
    for key, table in samples.groupby(keys, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        at_step = table.groupby("removed")["fraction_removed"].mean()
        half = at_step.index[np.argmin(np.abs(at_step.to_numpy() - fraction))]
        share_half = table.loc[table["removed"] == half, "pred"].value_counts(normalize=True)
        share_zero = table.loc[table["removed"] == 0, "pred"].value_counts(normalize=True)
        for rank, (cls, share) in enumerate(share_half.head(top).items()):
            rows.append({**dict(zip(keys, key)), "rank": rank + 1, "class": int(cls),
                         "fraction_removed": float(at_step[half]), "share": float(share),
                         "share_at_0": float(share_zero.get(cls, 0.0))})
    return pd.DataFrame(rows)


def topk_summary(curve: pd.DataFrame) -> pd.DataFrame:
    """The paper's table: fraction unchanged after removing the top 1, a middle and the largest k,
    one row per (dataset, evaluating model, explanation source)."""
    removed = curve[curve["test"] == "remove"]
    ks = sorted(removed["k"].unique())
    picked = [ks[0], ks[len(ks) // 2], ks[-1]] if len(ks) > 2 else ks
    table = removed[removed["k"].isin(picked)].pivot_table(
        index=["dataset", "model", "removal", "source", "source_kind"], columns="k", values="unchanged", sort=False)
    table.columns = [f"unchanged_after_{k}" for k in table.columns]
    return table.reset_index()
