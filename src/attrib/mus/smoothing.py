"""Multiplicative smoothing (MuS) and its stability certificates.

The smoothed classifier averages the base model over q derandomised keep-masks in which
every feature is kept in exactly λq masks, so flipping one feature of the explanation
moves every class score by at most λ: a top-two gap g certifies radius g / (2λ).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from attrib.models.base import require_feature_classifier
from attrib.runtime import progress_bar

MODES = ("voting", "soft")


def round_lambda(lam: float, q: int) -> float:
    """λ rounded down to a multiple of 1/q (tolerant of float noise such as 0.29 * 100)."""
    k = math.floor(round(lam * q, 9))
    if not 0 < k <= q:
        raise ValueError(f"lambda {lam} rounds to {k}/{q}; it must lie in [1/q, 1]")
    return k / q


def quasi_random_masks(p: int, q: int, lam: float, seed: int) -> torch.Tensor:
    """(q, p) float {0,1} derandomised masks; column i is kept in exactly ⌊λq⌋ rows.

    With v_i = u_i / q, t_{j,i} = (v_i + (j + ½)/q) mod 1 < λ = k/q is, in units of 1/(2q),
    (2u_i + 2j + 1) mod 2q < 2k, i.e. (u_i + j) mod q < k: integers, no float edge cases.
    """
    k = round(round_lambda(lam, q) * q)
    gen = torch.Generator().manual_seed(seed)
    u = torch.randint(q, (p,), generator=gen)
    j = torch.arange(q).unsqueeze(1)
    return ((u + j) % q < k).float()


def _default_masks(x, n, p, alpha, mu):
    alpha = torch.ones(n, p, device=x.device) if alpha is None else alpha.to(x.device).float()
    mu = torch.zeros(n, p, device=x.device) if mu is None else mu.to(x.device).float()
    if not ((mu == 0) | (mu == 1)).all():
        raise ValueError("mu must be a binary always-keep mask")
    return alpha, mu


class SmoothedClassifier:
    """f(x ⊙ α): the base model averaged over the q masks α̃_j = clamp(μ + α ⊙ s_j, 0, 1).

    ``voting`` (certificates) averages one-hot argmaxes and runs without gradients; ``soft``
    averages softmaxes and keeps the graph when grad is enabled (for attacks/explanations
    on α). Rows of ``alpha``/``mu`` may share inputs through ``x_index`` (row -> input), so
    many explanations of one input never copy the input. Rows whose masks are all equal
    (nothing outside μ is in α, e.g. μ = α, or λ = 1) cost one forward pass instead of q.
    """

    def __init__(self, model, lam, q=64, seed=0, mode="voting", chunk_size=1024, removal=None):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        require_feature_classifier(model, "SmoothedClassifier")
        self.model = model
        self.q = q
        self.lam = round_lambda(lam, q)
        self.seed = seed
        self.mode = mode
        self.chunk_size = chunk_size
        self.removal = removal
        self._masks: dict[int, torch.Tensor] = {}

    def masks(self, p: int) -> torch.Tensor:
        """The (q, p) masks, cached per p: they depend only on (p, q, λ, seed); λ = 1 has
        one all-ones mask (the q copies would be identical)."""
        if p not in self._masks:
            self._masks[p] = torch.ones(1, p) if self.lam == 1 else quasi_random_masks(p, self.q, self.lam, self.seed)
        return self._masks[p]

    def _scores(self, logits: torch.Tensor) -> torch.Tensor:
        if self.mode == "voting":
            return F.one_hot(logits.argmax(dim=1), logits.shape[1]).to(logits.dtype)
        return logits.softmax(dim=1)

    def __call__(self, x, alpha=None, mu=None, x_index=None) -> torch.Tensor:
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.mode == "soft"):
            return self._forward(x, alpha, mu, x_index)

    def prepare(self, x, alpha=None, mu=None, x_index=None):
        """Defaults filled in: (x_index, alpha, mu) with one row per explanation."""
        rows = x.shape[0] if x_index is None else len(x_index)
        x_index = torch.arange(rows, device=x.device) if x_index is None else x_index.to(x.device)
        alpha, mu = _default_masks(x, rows, self.model.num_features(x), alpha, mu)
        return x_index, alpha, mu

    def pair_scores(self, x, x_index, alpha, mu, row, j) -> torch.Tensor:
        """Scores (P, C) of the base model on the masked inputs of the (row, mask j) pairs,
        ``chunk_size`` inputs per forward pass."""
        s = self.masks(alpha.shape[1]).to(x.device)
        parts = []
        chunks = range(0, len(row), self.chunk_size)
        for a in progress_bar(chunks, desc=f"MuS λ={self.lam:g}, {self.chunk_size} masked inputs per chunk"):
            r, jj = row[a:a + self.chunk_size], j[a:a + self.chunk_size]
            # = clamp(μ + α ⊙ s_j, 0, 1) for binary μ and α in [0, 1], but with a gradient at α = 1
            keep = mu[r] + (1 - mu[r]) * alpha[r] * s[jj]
            parts.append(self._scores(self.model(x[x_index[r]], keep=keep, removal=self.removal)))
        if not parts:
            return alpha.new_zeros(0, self.model.num_classes)
        return torch.cat(parts)

    def _forward(self, x, alpha, mu, x_index):
        x_index, alpha, mu = self.prepare(x, alpha, mu, x_index)
        n = len(x_index)
        q = self.masks(alpha.shape[1]).shape[0]
        # rows with no feature outside μ in α: every mask gives μ, one pass is the exact average
        constant = ((1 - mu) * alpha == 0).all(dim=1) if q > 1 else torch.ones(n, dtype=torch.bool, device=x.device)
        varying = (~constant).nonzero().squeeze(1)
        row = torch.cat([constant.nonzero().squeeze(1), varying.repeat_interleave(q)])
        j = torch.cat([torch.zeros(int(constant.sum()), dtype=torch.long, device=x.device),
                       torch.arange(q, device=x.device).repeat(len(varying))])
        scores = self.pair_scores(x, x_index, alpha, mu, row, j)
        weight = torch.where(constant[row], 1.0, 1.0 / q).to(scores.dtype).unsqueeze(1)
        out = scores.new_zeros(n, scores.shape[1])
        return out.index_add(0, row, scores * weight)

    def certify(self, x, alpha=None, mu=None, x_index=None):
        """(pred, gap, radius) of f(x ⊙ α) with this classifier's (rounded) λ."""
        return certify(self(x, alpha, mu, x_index), self.lam)


def certify(scores: torch.Tensor, lam: float):
    """(pred, gap, radius): argmax, top-1 minus top-2 score, gap / (2λ); λ already rounded."""
    pred = scores.argmax(dim=1)
    top = scores.topk(2, dim=1).values
    gap = top[:, 0] - top[:, 1]
    return pred, gap, gap / (2 * lam)


def certified_flips(scores: torch.Tensor, lam: float, eps: float = 1e-6) -> torch.Tensor:
    """The number of feature flips that provably cannot change argmax f: int64 (N,).

    Each flip moves every score by at most λ, so k flips close the gap g_c = f_pred − f_c by
    at most 2kλ. argmax breaks ties toward the lower class index, so a class c below the
    prediction must stay strictly behind (k < g_c / 2λ) and one above may tie
    (k ≤ g_c / 2λ). It equals ⌊g/(2λ)⌋ except where the top-two gap is an exact multiple
    of 2λ with the runner-up at a lower index: there the tie is reachable, the radius
    g/(2λ) itself is not safe, and it is one less.
    """
    pred = scores.argmax(dim=1, keepdim=True)
    ratio = (scores.gather(1, pred) - scores) / (2 * lam)
    lower = torch.arange(scores.shape[1], device=scores.device).unsqueeze(0) < pred
    safe = torch.where(lower, torch.ceil(ratio - eps) - 1, torch.floor(ratio + eps))
    safe = safe.scatter(1, pred, float("inf"))
    return safe.min(dim=1).values.clamp_min(0).long()


def certified_accuracy_table(model, x, y, lam, q=64, seed=0, chunk_size=1024, removal=None) -> pd.DataFrame:
    """E2: per sample, label, voting prediction of f(x), gap and certified radius."""
    smoothed = SmoothedClassifier(model, lam, q=q, seed=seed, chunk_size=chunk_size, removal=removal)
    pred, gap, radius = smoothed.certify(x)
    y = torch.as_tensor(y).cpu()
    pred = pred.cpu()
    return pd.DataFrame({
        "sample": np.arange(len(y)),
        "label": y.numpy(),
        "pred": pred.numpy(),
        "correct": (pred == y).numpy(),
        "gap": gap.cpu().numpy(),
        "radius": radius.cpu().numpy(),
        "lambda": smoothed.lam,
    })


def certified_accuracy_at(table: pd.DataFrame, radii) -> pd.DataFrame:
    """Fraction of samples correct with radius ≥ r, per λ and r."""
    radii = np.asarray(radii, dtype=float)
    parts = []
    for lam, group in table.groupby("lambda", sort=True):
        ok = group["correct"].to_numpy()[:, None] & (group["radius"].to_numpy()[:, None] >= radii[None])
        parts.append(pd.DataFrame({"lambda": lam, "radius": radii, "certified_accuracy": ok.mean(axis=0)}))
    return pd.concat(parts, ignore_index=True)


STABILITY_CONFIGS = {"1_0": (False, False), "a_0": (True, False), "1_a": (False, True), "a_a": (True, True)}
"""E1's (α, μ) configurations by suffix: (uses α as the explanation, uses μ = α)."""


def top_k_masks(scores: torch.Tensor, k, feature_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Binary explanations (N, p) keeping each row's k highest-scoring real features (k an int
    or an (N,) tensor); non-features are always kept by the models, so they read as 1 here.
    Ties go to the lower feature index, so the masks are deterministic."""
    n, p = scores.shape
    feature_mask = torch.ones(n, p, dtype=torch.bool, device=scores.device) if feature_mask is None else feature_mask
    ranked = torch.where(feature_mask, scores.float(), -torch.inf)
    order = torch.argsort(-ranked, dim=1, stable=True)
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(p, device=scores.device).expand(n, p))
    k = torch.as_tensor(k, device=scores.device).reshape(-1, 1)
    return ((rank < k) | ~feature_mask).float()


def top_fraction_masks(scores, fraction: float, feature_mask=None) -> torch.Tensor:
    """The explanation "top-f": the ⌈p_i · f⌉ highest of each row's p_i real features."""
    counts = _num_real(scores, feature_mask)
    return top_k_masks(scores, torch.ceil(counts * fraction - 1e-9).long(), feature_mask)


def _num_real(scores, feature_mask):
    if feature_mask is None:
        return torch.full((scores.shape[0],), scores.shape[1], device=scores.device)
    return feature_mask.sum(dim=1)


def stability_table(model, x, alpha, lam, q=64, seed=0, chunk_size=1024, removal=None) -> pd.DataFrame:
    """E1 certified: per sample and explanation, pred/gap/radius/flips of the voting classifier
    under the four (α, μ) configurations (1,0), (α,0), (1,α), (α,α), and consistency.

    ``alpha`` is (N, p) or (N, E, p) for E explanations of each input (methods × top-f); the
    input is never copied, (1,0) is computed once per input and (α,α) in one pass (μ = α
    leaves nothing to mask). ``flips`` is the sound integer radius (``certified_flips``).
    """
    smoothed = SmoothedClassifier(model, lam, q=q, seed=seed, chunk_size=chunk_size, removal=removal)
    alpha = alpha.float().to(x.device)
    if alpha.dim() == 2:
        alpha = alpha.unsqueeze(1)
    n, e, p = alpha.shape
    flat = alpha.reshape(n * e, p)
    owner = torch.arange(n, device=x.device).repeat_interleave(e)
    full = smoothed(x)
    table = {"sample": np.repeat(np.arange(n), e), "explanation": np.tile(np.arange(e), n), "lambda": smoothed.lam}
    for name, (use_alpha, use_mu) in STABILITY_CONFIGS.items():
        if name == "1_0":
            scores = full[owner]
        else:
            scores = smoothed(x, flat if use_alpha else torch.ones_like(flat), flat if use_mu else None, x_index=owner)
        pred, gap, radius = certify(scores, smoothed.lam)
        table[f"pred_{name}"] = pred.cpu().numpy()
        table[f"gap_{name}"] = gap.cpu().numpy()
        table[f"radius_{name}"] = radius.cpu().numpy()
        table[f"flips_{name}"] = certified_flips(scores, smoothed.lam).cpu().numpy()
    table = pd.DataFrame(table)
    table["consistent"] = table["pred_1_0"] == table["pred_a_0"]
    table["consistent_mu"] = table["pred_1_a"] == table["pred_a_a"]
    return table


def sparsity_search(smoothed: SmoothedClassifier, x, scores, feature_mask=None, with_mu=False):
    """E3: per input, the smallest k whose top-k explanation is consistent and certified
    incrementally and decrementally for at least one flip; binary search over k for all
    inputs at once (assumes the condition is monotone in k, as the paper does).

    Returns (k (N,), certified (N,)): inputs that fail even with every feature get k = p_i
    and certified False.
    """
    n = x.shape[0]
    p_real = _num_real(scores, feature_mask).to(x.device)
    if not with_mu:
        full = smoothed(x)
        full_ok = certified_flips(full, smoothed.lam) >= 1
        full_pred = full.argmax(dim=1)

    def holds(k, rows):
        alpha = top_k_masks(scores[rows], k, None if feature_mask is None else feature_mask[rows]).to(x.device)
        if with_mu:
            dec = smoothed(x, None, alpha, x_index=rows)
            inc = smoothed(x, alpha, alpha, x_index=rows)
            return ((dec.argmax(1) == inc.argmax(1)) & (certified_flips(dec, smoothed.lam) >= 1)
                    & (certified_flips(inc, smoothed.lam) >= 1))
        inc = smoothed(x, alpha, x_index=rows)
        return (inc.argmax(1) == full_pred[rows]) & full_ok[rows] & (certified_flips(inc, smoothed.lam) >= 1)

    every = torch.arange(n, device=x.device)
    certified = holds(p_real, every)
    lo = torch.ones(n, dtype=torch.long, device=x.device)
    hi = p_real.clone().long()
    while True:
        rows = ((lo < hi) & certified).nonzero().squeeze(1)
        if len(rows) == 0:
            break
        mid = (lo[rows] + hi[rows]) // 2
        ok = holds(mid, rows)
        hi[rows] = torch.where(ok, mid, hi[rows])
        lo[rows] = torch.where(ok, lo[rows], mid + 1)
    return torch.where(certified, hi, p_real.long()), certified
