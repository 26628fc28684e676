"""Multiplicative smoothing (MuS) and its stability certificates.

The smoothed classifier averages the base model over q derandomised keep-masks in which
every feature is kept in exactly λq masks, so flipping one feature of the explanation
moves every class score by at most λ: a top-two gap g certifies radius g / (2λ).
See ``shared/spec/mus.md``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

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
    on α).
    """

    def __init__(self, model, lam, q=64, seed=0, mode="voting", chunk_size=1024, removal=None):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        self.model = model
        self.q = q
        self.lam = round_lambda(lam, q)
        self.seed = seed
        self.mode = mode
        self.chunk_size = chunk_size
        self.removal = removal
        self._masks: dict[int, torch.Tensor] = {}

    def masks(self, p: int) -> torch.Tensor:
        """The (q, p) masks, cached per p: they depend only on (p, q, λ, seed)."""
        if p not in self._masks:
            self._masks[p] = quasi_random_masks(p, self.q, self.lam, self.seed)
        return self._masks[p]

    def _scores(self, logits: torch.Tensor) -> torch.Tensor:
        if self.mode == "voting":
            return F.one_hot(logits.argmax(dim=1), logits.shape[1]).to(logits.dtype)
        return logits.softmax(dim=1)

    def __call__(self, x, alpha=None, mu=None) -> torch.Tensor:
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.mode == "soft"):
            return self._forward(x, alpha, mu)

    def _forward(self, x, alpha, mu):
        n = x.shape[0]
        p = self.model.num_features(x)
        alpha, mu = _default_masks(x, n, p, alpha, mu)
        if self.lam == 1:
            keep = mu + (1 - mu) * alpha  # = max(μ, α), differentiable at α = 1
            return torch.cat([
                self._scores(self.model(x[a:a + self.chunk_size], keep=keep[a:a + self.chunk_size],
                                        removal=self.removal))
                for a in range(0, n, self.chunk_size)
            ])
        s = self.masks(p).to(x.device)
        out = None
        for a in range(0, n * self.q, self.chunk_size):
            rows = torch.arange(a, min(a + self.chunk_size, n * self.q), device=x.device)
            sample, j = rows // self.q, rows % self.q
            # = clamp(μ + α ⊙ s_j, 0, 1) for binary μ and α in [0, 1], but with a gradient at α = 1
            keep = mu[sample] + (1 - mu[sample]) * alpha[sample] * s[j]
            scores = self._scores(self.model(x[sample], keep=keep, removal=self.removal))
            if out is None:
                out = scores.new_zeros(n, scores.shape[1])
            out = out.index_add(0, sample, scores)
        return out / self.q

    def certify(self, x, alpha=None, mu=None):
        """(pred, gap, radius) of f(x ⊙ α) with this classifier's (rounded) λ."""
        return certify(self(x, alpha, mu), self.lam)


def certify(scores: torch.Tensor, lam: float):
    """(pred, gap, radius): argmax, top-1 minus top-2 score, gap / (2λ); λ already rounded."""
    pred = scores.argmax(dim=1)
    top = scores.topk(2, dim=1).values
    gap = top[:, 0] - top[:, 1]
    return pred, gap, gap / (2 * lam)


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


def certified_accuracy_curve(table: pd.DataFrame, radii) -> pd.DataFrame:
    """Fraction of samples correct with radius ≥ r, per λ and r."""
    radii = np.asarray(radii, dtype=float)
    parts = []
    for lam, group in table.groupby("lambda", sort=True):
        ok = group["correct"].to_numpy()[:, None] & (group["radius"].to_numpy()[:, None] >= radii[None])
        parts.append(pd.DataFrame({"lambda": lam, "radius": radii, "certified_accuracy": ok.mean(axis=0)}))
    return pd.concat(parts, ignore_index=True)


STABILITY_CONFIGS = {"1_0": (False, False), "a_0": (True, False), "1_a": (False, True), "a_a": (True, True)}
"""E1's (α, μ) configurations by suffix: (uses α as the explanation, uses μ = α)."""


def stability_table(model, x, alpha, lam, q=64, seed=0, chunk_size=1024, removal=None) -> pd.DataFrame:
    """E1 certified: per sample, pred/gap/radius of the voting classifier under the four
    (α, μ) configurations (1,0), (α,0), (1,α), (α,α), and consistency of the predictions."""
    smoothed = SmoothedClassifier(model, lam, q=q, seed=seed, chunk_size=chunk_size, removal=removal)
    alpha = alpha.float()
    ones = torch.ones_like(alpha)
    table = {"sample": np.arange(x.shape[0]), "lambda": smoothed.lam}
    for name, (use_alpha, use_mu) in STABILITY_CONFIGS.items():
        pred, gap, radius = smoothed.certify(x, alpha if use_alpha else ones, alpha if use_mu else None)
        table[f"pred_{name}"] = pred.cpu().numpy()
        table[f"gap_{name}"] = gap.cpu().numpy()
        table[f"radius_{name}"] = radius.cpu().numpy()
    table = pd.DataFrame(table)
    table["consistent"] = table["pred_1_0"] == table["pred_a_0"]
    table["consistent_mu"] = table["pred_1_a"] == table["pred_a_a"]
    return table
