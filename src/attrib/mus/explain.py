"""The MuS experiments' explanation methods: attributions over the p mask coordinates α.

They explain g(α) = softmax(h(x ⊙ α))[target] of the λ = 1 model (the soft smoothed classifier
at λ = 1) for the predicted class. Every method evaluates g on many (input, α) rows at once,
``chunk_size`` rows per forward/backward pass; one set of random draws (seeded) serves every
input. Registry methods (``attrib.attribution``) enter through their feature vectors instead.
"""

from __future__ import annotations

import math

import torch

from attrib.attribution.surrogate import weighted_linear_fit
from attrib.catalogue import MASK_METHODS


def target_probability(model, x, target, removal=None):
    """g(rows, α): the target-class probability of x[rows] ⊙ α, as the explainers call it."""

    def g(alpha, rows):
        logits = model(x[rows], keep=alpha, removal=removal)
        return logits.softmax(dim=1).gather(1, target[rows, None]).squeeze(1)

    return g


def _gradients(g, alpha, rows, chunk_size):
    """∂g/∂α of every row, chunked; rows are independent inputs, so one backward per chunk."""
    grads = []
    for a in range(0, len(rows), chunk_size):
        point = alpha[a:a + chunk_size].detach().requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(g(point, rows[a:a + chunk_size]).sum(), point)
        grads.append(grad)
    return torch.cat(grads)


@torch.no_grad()
def _values(g, alpha, rows, chunk_size):
    return torch.cat([g(alpha[a:a + chunk_size], rows[a:a + chunk_size]) for a in range(0, len(rows), chunk_size)])


def vgrad(g, n, p, device, *, chunk_size=256, **_):
    """|∂g/∂α| at α = 1."""
    rows = torch.arange(n, device=device)
    return _gradients(g, torch.ones(n, p, device=device), rows, chunk_size).abs()


def igrad(g, n, p, device, *, n_steps=32, chunk_size=256, **_):
    """|integrated gradients| from α = 0 to 1 (midpoint rule, ``n_steps`` points)."""
    t = (torch.arange(n_steps, device=device, dtype=torch.float32) + 0.5) / n_steps
    rows = torch.arange(n, device=device).repeat_interleave(n_steps)
    alpha = t.repeat(n).unsqueeze(1).expand(-1, p)
    grads = _gradients(g, alpha, rows, chunk_size).view(n, n_steps, p)
    return grads.mean(dim=1).abs()


def shap(g, n, p, device, *, n_background=100, n_samples=48, seed=0, chunk_size=256, **_):
    """Gradient SHAP on α: the expectation over a background b (random binary masks, the first
    all ones) and t ~ U(0, 1) of ∂g/∂α(b + t(1 − b)) ⊙ (1 − b). Signed: a feature that supports
    the prediction ranks high."""
    gen = torch.Generator().manual_seed(seed)
    background = (torch.rand(n_background, p, generator=gen) < 0.5).float()
    background[0] = 1
    pick = background[torch.randint(n_background, (n_samples,), generator=gen)].to(device)
    t = torch.rand(n_samples, 1, generator=gen).to(device)
    points = pick + t * (1 - pick)
    rows = torch.arange(n, device=device).repeat_interleave(n_samples)
    grads = _gradients(g, points.repeat(n, 1), rows, chunk_size).view(n, n_samples, p)
    return (grads * (1 - pick)).mean(dim=1)


def lime(g, n, p, device, *, n_samples=48, kernel_width=0.25, ridge=1.0, seed=0, chunk_size=256,
         feature_mask=None, **_):
    """|LIME weights|: ridge regression of g on ``n_samples`` random binary α (each feature kept
    with probability ½, the first row all ones), rows weighted by an exponential kernel of the
    cosine distance to α = 1. 48 rows, as the MuS code's ``explain_instance(num_samples=48)``
    (its 100 random binary rows only fit LIME's feature statistics). This is the MuS paper's
    LIME; the registry's ``lime`` (:mod:`attrib.attribution.surrogate`, the re-calibration and
    missingness papers' LIME) differs on purpose in its kernel (square root of the exponential)
    and rows (no all-kept row); both share :func:`~attrib.attribution.surrogate.weighted_linear_fit`."""
    z = (torch.rand(n_samples, p, generator=torch.Generator().manual_seed(seed)) < 0.5).float()
    z[0] = 1
    z = z.to(device)
    rows = torch.arange(n, device=device).repeat_interleave(n_samples)
    y = _values(g, z.repeat(n, 1), rows, chunk_size).view(n, n_samples)
    features = torch.ones(n, p, dtype=torch.bool, device=device) if feature_mask is None else feature_mask
    zn = z.unsqueeze(0) * features.unsqueeze(1)
    cosine = zn.sum(dim=2) / (zn.norm(dim=2) * features.sum(dim=1, keepdim=True).sqrt()).clamp_min(1e-12)
    weights = torch.exp(-((1 - cosine) ** 2) / kernel_width**2)
    coef = weighted_linear_fit(z.expand(n, -1, -1), y, weights, features, ridge)
    return coef.abs().to(y.dtype)


EXPLAINERS = {"vgrad": vgrad, "igrad": igrad, "shap": shap, "lime": lime}


def explain_masks(model, x, target, method, *, chunk_size=256, seed=0, removal=None, **options):
    """(N, p) scores of ``method`` over the mask coordinates; non-features score −inf."""
    if method not in MASK_METHODS:
        raise ValueError(f"unknown MuS mask method {method!r}; known: {sorted(MASK_METHODS)}")
    unknown = sorted(set(options) - set(MASK_METHODS[method]))
    if unknown:
        raise ValueError(f"MuS method {method!r} has no option(s) {unknown}; known: {sorted(MASK_METHODS[method])}")
    feature_mask = model.feature_mask(x)
    n, p = feature_mask.shape
    g = target_probability(model, x, target.to(x.device), removal)
    opts = {**MASK_METHODS[method], **options}
    scores = EXPLAINERS[method](g, n, p, x.device, chunk_size=chunk_size, seed=seed, feature_mask=feature_mask, **opts)
    return torch.where(feature_mask, scores.detach().float(), -math.inf)
