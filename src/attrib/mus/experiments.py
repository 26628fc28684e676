"""The MuS experiments E1 (certified and empirical stability), E3 (sparsity) and the masked
accuracy, as functions from a model, inputs and explanation scores to tidy per-sample tables.
The pipeline's scripts only load files and call these."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from attrib.mus.smoothing import SmoothedClassifier, certified_flips, sparsity_search, stability_table, top_fraction_masks
from attrib.mus.attack import box_attack
from attrib.catalogue import MASK_METHODS
from attrib.models.base import chunked_logits
from attrib.mus.explain import explain_masks

ATTACK_DIRECTIONS = ("incremental", "decremental")


def trim_padding(inputs: torch.Tensor, meta: dict) -> torch.Tensor:
    """Text: drop the padding columns that no input of the set uses (they are never features,
    and every forward pass pays for them). Images pass unchanged."""
    if meta["modality"] != "text":
        return inputs
    used = (inputs != int(meta["pad_id"])).any(dim=0).nonzero()
    return inputs[:, : int(used.max()) + 1] if len(used) else inputs


def explained_inputs(inputs: torch.Tensor, meta: dict, scores: torch.Tensor) -> torch.Tensor:
    """The inputs as ``mus_explain`` saw them: text trimmed to the width of its explanation
    ``scores`` (N, L) (the explained set's longest input), whatever subset or shard this is."""
    if meta["modality"] != "text":
        return inputs
    if (inputs[:, scores.shape[1]:] != int(meta["pad_id"])).any():
        raise ValueError(f"inputs are longer than their explanations' {scores.shape[1]} tokens: "
                         "the explanations come from another evaluation set; rerun mus_explain")
    return inputs[:, : scores.shape[1]]


def explanation_scores(model, x, method: str, options: dict, *, chunk_size: int, seed: int,
                       registry_features: torch.Tensor | None = None) -> torch.Tensor:
    """(N, p) scores ordering the features of each input for the predicted class of the λ = 1
    model: a MuS mask-space method, or a registry method's feature vector (|·|, as DiffID ranks)."""
    feature_mask = model.feature_mask(x)
    if method in MASK_METHODS:
        target = chunked_logits(model, x, chunk_size=chunk_size).argmax(dim=1)
        return explain_masks(model, x, target, method, chunk_size=chunk_size, seed=seed, **options)
    if registry_features is None:
        raise ValueError(f"method {method!r} is no MuS mask method ({sorted(MASK_METHODS)}) and has no attributions")
    features = registry_features[: len(x), : feature_mask.shape[1]].float().abs().to(x.device)
    return torch.where(feature_mask, features, -math.inf)


def explanation_masks(scores: dict, fractions, feature_mask):
    """(N, E, p) binary top-f explanations for every (method, fraction), and the E labels."""
    labels, masks = [], []
    for method, s in scores.items():
        for fraction in fractions:
            labels.append((method, fraction))
            masks.append(top_fraction_masks(s.to(feature_mask.device), fraction, feature_mask))
    return torch.stack(masks, dim=1), labels


def e1_certified_table(model, x, y, scores: dict, fractions, lam, *, q, seed, chunk_size, start=0) -> pd.DataFrame:
    """E1 certified per (sample, method, top-f): the four (α, μ) configurations, consistency,
    the label (for the masked accuracy of f(x ⊙ α)) and the number of real features p.
    ``sample`` counts from ``start``, the evaluation-set index of ``x[0]``."""
    feature_mask = model.feature_mask(x)
    alphas, labels = explanation_masks(scores, fractions, feature_mask)
    table = stability_table(model, x, alphas, lam, q=q, seed=seed, chunk_size=chunk_size)
    which = np.array(labels, dtype=object)[table["explanation"].to_numpy()]
    table.insert(1, "method", [m for m, _ in which])
    table.insert(2, "top_fraction", [f for _, f in which])
    table.insert(3, "label", y.cpu().numpy()[table["sample"].to_numpy()])
    table.insert(4, "num_features", feature_mask.sum(dim=1).cpu().numpy()[table["sample"].to_numpy()])
    table["requested_lambda"] = float(lam)
    table["q"] = q
    table["sample"] += start
    return table.drop(columns="explanation")


def e3_sparsity_table(model, x, scores: dict, lam, *, q, seed, chunk_size, start=0) -> pd.DataFrame:
    """E3 per (sample, method, with/without μ = α): the smallest certified top-k; ``sample``
    counts from ``start``."""
    feature_mask = model.feature_mask(x)
    smoothed = SmoothedClassifier(model, lam, q=q, seed=seed, chunk_size=chunk_size)
    parts = []
    for method, s in scores.items():
        for with_mu in (False, True):
            k, certified = sparsity_search(smoothed, x, s.to(x.device), feature_mask, with_mu=with_mu)
            p = feature_mask.sum(dim=1)
            parts.append(pd.DataFrame({
                "sample": np.arange(len(x)) + start, "method": method, "with_mu": with_mu, "lambda": smoothed.lam,
                "requested_lambda": float(lam), "k": k.cpu().numpy(), "num_features": p.cpu().numpy(),
                "k_over_p": (k / p).cpu().numpy(), "certified": certified.cpu().numpy(),
            }))
    return pd.concat(parts, ignore_index=True)


def e1_attack_table(model, x, scores: torch.Tensor, fraction: float, lam, *, q, seed, chunk_size, modes,
                    with_mu=(False,), iterations=50, candidates=24, method="", start=0) -> pd.DataFrame:
    """E1 empirical: per (sample, mode, μ), the box attack's r_max incrementally (adding
    features to α) and decrementally (removing features outside α from the full input), the
    consistency under the attacked classifier and, for comparison, the voting certificate.
    ``sample`` counts from ``start``, which also keys the attack's random candidates."""
    feature_mask = model.feature_mask(x)
    alpha = top_fraction_masks(scores.to(x.device), fraction, feature_mask)
    outside = (alpha == 0) & feature_mask
    ones = torch.ones_like(alpha)
    samples = np.arange(len(x)) + start
    voting = SmoothedClassifier(model, lam, q=q, seed=seed, chunk_size=chunk_size)
    parts = []
    for use_mu in with_mu:
        mu = alpha if use_mu else None
        with torch.no_grad():
            inc_scores, dec_scores = voting(x, alpha, mu), voting(x, ones, mu)
        for mode in modes:
            smoothed = SmoothedClassifier(model, lam, q=q, seed=seed, chunk_size=chunk_size, mode=mode)
            r = {}
            for direction, point in zip(ATTACK_DIRECTIONS, (alpha, ones)):
                r[direction] = box_attack(smoothed, x, point, outside, mu=mu, iterations=iterations,
                                          candidates=candidates, seed=seed, index=samples).cpu().numpy()
            with torch.no_grad():
                consistent = smoothed(x, alpha, mu).argmax(1) == smoothed(x, ones, mu).argmax(1)
            parts.append(pd.DataFrame({
                "sample": samples, "method": method, "top_fraction": fraction, "mode": mode,
                "with_mu": use_mu, "lambda": voting.lam, "requested_lambda": float(lam), "q": q,
                "num_features": feature_mask.sum(dim=1).cpu().numpy(),
                "consistent": consistent.cpu().numpy(),
                "r_max_incremental": r["incremental"], "r_max_decremental": r["decremental"],
                "certified_consistent": (inc_scores.argmax(1) == dec_scores.argmax(1)).cpu().numpy(),
                "flips_incremental": certified_flips(inc_scores, voting.lam).cpu().numpy(),
                "flips_decremental": certified_flips(dec_scores, voting.lam).cpu().numpy(),
            }))
    return pd.concat(parts, ignore_index=True)
