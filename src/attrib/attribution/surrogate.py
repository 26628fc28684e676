"""Perturbation surrogates fitted for many inputs at once: LIME and Kernel SHAP on the feature
grid (the re-calibration paper's and the missingness paper's LIME). MuS's own LIME
(``attrib.mus.explain.lime``) differs on purpose — the MuS paper's kernel and row count — and
shares :func:`weighted_linear_fit` with these."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from attrib.attribution.base import Attribution, AttributionMethod
from attrib.features import upsample_keep

KERNEL_SHAP_ENDPOINT_WEIGHT = 1e6  # captum KernelShap's finite stand-in for the infinite weight
RANK_TOLERANCE = 1e-10  # a Cholesky pivot this small, relative to its diagonal, means rank-deficient


def bernoulli_masks(features: torch.Tensor, n_samples: int, seed: int) -> torch.Tensor:
    """LIME's perturbations: (N, n, p) keep-masks, each feature kept with probability ½; one mask
    set drawn from ``seed`` serves every input; non-features (``features`` False) stay kept."""
    z = (torch.rand(n_samples, features.shape[1], generator=torch.Generator().manual_seed(seed)) < 0.5)
    z = z.to(features.device)
    return torch.where(features[:, None], z, True).float()


def shapley_masks(features: torch.Tensor, n_samples: int, seed: int) -> torch.Tensor:
    """Kernel SHAP's perturbations as captum draws them: the all-kept and the all-removed masks,
    then masks whose number of kept features k ∈ [1, M−1] has probability ∝ 1/(k (M − k)), the
    kept set uniform given k. Sampling in proportion to the Shapley kernel is what makes unit
    weights on these rows the Shapley-kernel regression (captum's argument). One set of random
    draws serves every input, mapped onto its M real features; (N, n, p) float."""
    n_inputs, p = features.shape
    interior = max(n_samples - 2, 0)
    gen = torch.Generator().manual_seed(seed)
    u = torch.rand(interior, generator=gen).to(features.device)
    keys = torch.rand(interior, p, generator=gen).to(features.device)
    m = features.sum(dim=1, keepdim=True)  # (N, 1) real features per input
    k = torch.arange(p + 1, device=features.device)[None]
    inside = (k > 0) & (k < m)
    density = torch.where(inside, 1.0 / (k * (m - k)).clamp_min(1), 0.0)
    cdf = density.cumsum(dim=1)
    largest = (m - 1).clamp_min(0)  # guards u · total rounding up to total
    kept = torch.searchsorted(cdf, u[None] * cdf[:, -1:], right=True).clamp_max(largest)  # (N, interior)
    rank = torch.where(features[:, None], keys[None], 2.0).argsort(dim=-1).argsort(dim=-1)
    z = torch.cat([torch.ones(n_inputs, 1, p, dtype=torch.bool, device=features.device),
                   torch.zeros(n_inputs, 1, p, dtype=torch.bool, device=features.device),
                   rank < kept[..., None]], dim=1)[:, :n_samples]
    return torch.where(features[:, None], z, True).float()


def weighted_linear_fit(z: torch.Tensor, y: torch.Tensor, weights: torch.Tensor, features: torch.Tensor,
                        ridge: float) -> torch.Tensor:
    """Slopes of the weighted least-squares fits y ≈ b + z·β of all inputs at once, (N, p).

    As in sklearn, the unpenalised intercept is removed by centring on the weighted means, and the
    normal equations (Zcᵀ W Zc + ridge·I) β = Zcᵀ W yc are solved in float64. Non-feature columns
    are zeroed, so their slope is 0. Without ridge, a full-rank Gram matrix is solved by Cholesky
    (one batched factorisation, far cheaper than a pseudo-inverse per input); the rank-deficient
    ones (text with padding, collinear masks) get the pseudo-inverse's minimum-norm solution, as
    sklearn's least squares does.
    """
    z, y, w = z.double(), y.double(), weights.double()
    total = w.sum(dim=1, keepdim=True)
    zc = (z - (w[..., None] * z).sum(dim=1, keepdim=True) / total[..., None]) * features[:, None]
    yc = y - (w * y).sum(dim=1, keepdim=True) / total
    weighted = w[..., None] * zc
    gram = weighted.transpose(1, 2) @ zc
    rhs = (weighted.transpose(1, 2) @ yc[..., None]).squeeze(-1)
    if ridge > 0:
        eye = torch.eye(z.shape[-1], dtype=z.dtype, device=z.device)
        return torch.linalg.solve(gram + ridge * eye, rhs)
    factor, info = torch.linalg.cholesky_ex(gram)
    pivots = factor.diagonal(dim1=-2, dim2=-1) ** 2 / gram.diagonal(dim1=-2, dim2=-1).clamp_min(1e-300)
    full_rank = (info == 0) & (pivots > RANK_TOLERANCE).all(dim=-1)
    slopes = torch.cholesky_solve(rhs[..., None], factor).squeeze(-1)
    deficient = ~full_rank
    if deficient.any():
        pinv = torch.linalg.pinv(gram[deficient], hermitian=True)
        slopes[deficient] = (pinv @ rhs[deficient][..., None]).squeeze(-1)
    return slopes


class SurrogateAttribution(AttributionMethod):
    """A linear surrogate of the target-class softmax probability on binary keep-masks z, fitted
    for all inputs at once: the perturbations of many inputs share each forward pass (at most
    ``chunk_size`` per pass) and all weighted regressions are solved together in closed form.
    ``removal`` None is the model's default; features are the slopes, the map (images) spreads
    each slope over its patch, as captum's ``return_input_shape`` does."""

    defaults = {"chunk_size": 256, "n_samples": 200, "seed": 0, "removal": None}

    def _inputs_per_chunk(self, opts):
        return max(1, opts["chunk_size"] // opts["n_samples"])

    def _masks(self, features, opts) -> torch.Tensor:
        raise NotImplementedError

    def _weights(self, z, features, opts) -> torch.Tensor:
        raise NotImplementedError

    def _ridge(self, opts) -> float:
        return 0.0

    @torch.no_grad()
    def _target_probabilities(self, inputs, z, target, opts) -> torch.Tensor:
        n_inputs, n, p = z.shape
        keep = z.reshape(n_inputs * n, p)
        probabilities = []
        for rows in torch.arange(n_inputs * n, device=inputs.device).split(opts["chunk_size"]):
            owner = rows // n
            logits = self.model(inputs[owner], keep=keep[rows], removal=opts["removal"])
            probabilities.append(logits.softmax(dim=1).gather(1, target[owner, None]).squeeze(1))
        return torch.cat(probabilities).view(n_inputs, n)

    def _attribute(self, inputs, target, opts, index):
        features = self.model.feature_mask(inputs)
        z = self._masks(features, opts)
        y = self._target_probabilities(inputs, z, target, opts)
        coef = weighted_linear_fit(z, y, self._weights(z, features, opts), features, self._ridge(opts))
        coef = coef.to(y.dtype)
        if self.model.modality == "text":
            return Attribution(None, coef)
        pixels = upsample_keep(coef, inputs.shape[-1], self.model.patch)
        return Attribution(pixels.expand(-1, inputs.shape[1], -1, -1), coef)


class Lime(SurrogateAttribution):
    """LIME on features: masks kept with probability ½, kernel π(z) = sqrt(exp(−d²/w²)) with d the
    cosine distance between z and the all-kept mask (w = ``kernel_width``), ridge regression with
    penalty ``alpha`` and an unpenalised intercept (sklearn ``Ridge``, as in the LIME package)."""

    defaults = {**SurrogateAttribution.defaults, "kernel_width": 0.25, "alpha": 1.0}

    def _masks(self, features, opts):
        return bernoulli_masks(features, opts["n_samples"], opts["seed"])

    def _weights(self, z, features, opts):
        distance = 1 - F.cosine_similarity(z, torch.ones_like(z), dim=-1)
        return torch.exp(-distance**2 / opts["kernel_width"] ** 2).sqrt()

    def _ridge(self, opts):
        return opts["alpha"]


class KernelShap(SurrogateAttribution):
    """Kernel SHAP on features as captum computes it: Shapley-kernel sampling of the masks
    (:func:`shapley_masks`), unit weights except the all-kept and all-removed rows, weighted
    1e6 to impose efficiency, and ordinary least squares with an intercept."""

    def _masks(self, features, opts):
        return shapley_masks(features, opts["n_samples"], opts["seed"])

    def _weights(self, z, features, opts):
        kept = (z * features[:, None]).sum(dim=-1)
        endpoint = (kept == 0) | (kept == features.sum(dim=1, keepdim=True))
        return torch.where(endpoint, KERNEL_SHAP_ENDPOINT_WEIGHT, 1.0)
