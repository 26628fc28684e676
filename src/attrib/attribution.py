"""Attribution methods behind one captum-shaped interface.

``build_method(name, model, **options).attribute(inputs, target=None, **options)`` returns an
:class:`Attribution` with a pixel-level ``map`` (images; None where a method has none) and
``features`` (N, p): the mean |map| per patch for gradient methods, the native signed score per
feature for perturbation methods (occlusion, feature ablation, LIME, Kernel SHAP). Text models
have no pixel map: gradient methods attribute the keep-mask α ∈ [0,1]^L at α = 1, and features
are |attribution| of α, zero at non-feature positions. Adding a method is one registry entry
here plus one in ``attrib.catalogue.METHODS`` (the data it explains, its option names), which
the workflow reads without importing torch.
Every method takes ``chunk_size``, the number of model inputs (images, perturbed copies or
interpolation points) per forward/backward pass, which bounds memory. See
``shared/spec/attribution.md``.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import captum.attr
import numpy as np
import torch
import torch.nn.functional as F

from attrib import smug
from attrib.features import pixel_to_features, upsample_keep

KERNEL_SHAP_ENDPOINT_WEIGHT = 1e6  # captum KernelShap's finite stand-in for the infinite weight


@dataclass
class Attribution:
    map: torch.Tensor | None
    features: torch.Tensor


@contextmanager
def seeded_global_rng(seed: int):
    """captum's sampling methods draw from the global torch and numpy generators; fork both so that
    a seed fixes the result without disturbing the caller's random streams."""
    state = np.random.get_state()
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(state)


def patch_index(image_size: int, patch: int, device=None) -> torch.Tensor:
    """(1, 1, H, W) long: the row-major feature index of the patch each pixel belongs to."""
    p = (image_size // patch) ** 2
    return upsample_keep(torch.arange(p, device=device)[None], image_size, patch)


def signed_patch_means(pixel_map: torch.Tensor, patch: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, p) signed mean per patch: the native score of patch-constant maps."""
    return F.avg_pool2d(pixel_map.mean(dim=1, keepdim=True), kernel_size=patch, stride=patch).flatten(1)


class AttributionMethod:
    """Base class: option handling, default targets, chunking over inputs and feature masks.

    Subclasses list their options with defaults in ``defaults`` (every method takes
    ``chunk_size``) and implement ``_attribute`` for one chunk of inputs. Methods that sample
    through captum's global random generators set ``uses_global_rng`` and take a ``seed``.
    """

    defaults: dict = {"chunk_size": 64}
    uses_global_rng = False

    def __init__(self, model, **options):
        self.model = model
        self.options = self._merged(self.defaults, options)

    def _merged(self, base: dict, options: dict) -> dict:
        unknown = set(options) - set(self.defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unknown options {sorted(unknown)}; "
                            f"it takes {sorted(self.defaults)}")
        return {**base, **options}

    @torch.no_grad()
    def predicted(self, inputs: torch.Tensor, chunk_size: int) -> torch.Tensor:
        return torch.cat([self.model(inputs[a:a + chunk_size]).argmax(dim=1)
                          for a in range(0, inputs.shape[0], chunk_size)])

    def targets(self, inputs: torch.Tensor, target, chunk_size: int) -> torch.Tensor:
        """(N,) long: the predicted class when ``target`` is None; an int applies to all."""
        if target is None:
            return self.predicted(inputs, chunk_size)
        target = torch.as_tensor(target, device=inputs.device, dtype=torch.long)
        return target.expand(inputs.shape[0]) if target.dim() == 0 else target

    def _inputs_per_chunk(self, opts: dict) -> int:
        """How many inputs one ``_attribute`` call takes; methods that expand each input into
        many model inputs take fewer so that a pass holds at most ``chunk_size`` of them."""
        return opts["chunk_size"]

    def attribute(self, inputs: torch.Tensor, target=None, **options) -> Attribution:
        opts = self._merged(self.options, options)
        target = self.targets(inputs, target, opts["chunk_size"])
        if self.uses_global_rng:
            with seeded_global_rng(opts["seed"]):
                return self._attribute_chunks(inputs, target, opts)
        return self._attribute_chunks(inputs, target, opts)

    def _attribute_chunks(self, inputs, target, opts) -> Attribution:
        size = self._inputs_per_chunk(opts)
        parts = [self._attribute(inputs[a:a + size], target[a:a + size], opts)
                 for a in range(0, inputs.shape[0], size)]
        pixel_map = None if parts[0].map is None else torch.cat([part.map for part in parts])
        features = torch.cat([part.features for part in parts])
        return Attribution(pixel_map, features * self.model.feature_mask(inputs).to(features))

    def _attribute(self, inputs, target, opts) -> Attribution:
        raise NotImplementedError


class CaptumMethod(AttributionMethod):
    """A captum method on pixels (images) or on the keep-mask α at α = 1 (text).

    Gradient methods report features as the mean |map| per patch; perturbation methods
    (``signed_features``) report their native signed score per feature.
    """

    captum_class: type
    signed_features = False

    def _captum(self, forward):
        return self.captum_class(forward)

    def _captum_kwargs(self, variable: torch.Tensor, opts: dict) -> dict:
        return {}

    def _attribute(self, inputs, target, opts):
        model = self.model
        if model.modality == "text":
            method = self._captum(lambda alpha, ids: model(ids, keep=alpha))
            alpha = torch.ones(inputs.shape, device=inputs.device, requires_grad=True)
            attr = method.attribute(alpha, target=target, additional_forward_args=(inputs,),
                                    **self._captum_kwargs(alpha, opts)).detach()
            return Attribution(None, attr if self.signed_features else attr.abs())
        inputs = inputs.detach().requires_grad_()
        attr = self._captum(model).attribute(inputs, target=target, **self._captum_kwargs(inputs, opts))
        attr = attr.detach()
        to_features = signed_patch_means if self.signed_features else pixel_to_features
        return Attribution(attr, to_features(attr, model.patch))


class Saliency(CaptumMethod):
    """|∂ target logit / ∂ input| (captum Saliency; ``abs`` as in captum)."""

    captum_class = captum.attr.Saliency
    defaults = {"chunk_size": 64, "abs": True}

    def _captum_kwargs(self, inputs, opts):
        return {"abs": opts["abs"]}


class InputXGradient(CaptumMethod):
    """input ⊙ ∂ target logit / ∂ input (captum InputXGradient; text: the gradient at α = 1)."""

    captum_class = captum.attr.InputXGradient


class IntegratedGradients(CaptumMethod):
    """captum IntegratedGradients from the black image (text: from α = 0) to the input."""

    captum_class = captum.attr.IntegratedGradients
    defaults = {"chunk_size": 64, "n_steps": 32, "method": "gausslegendre"}

    def _captum_kwargs(self, inputs, opts):
        return {"baselines": torch.zeros_like(inputs), "n_steps": opts["n_steps"], "method": opts["method"],
                "internal_batch_size": opts["chunk_size"]}


class SmoothGrad(CaptumMethod):
    """captum NoiseTunnel over Saliency: gradients averaged over noisy copies of the input.

    ``stdevs`` is in input units (0.15 of the [0, 1] range); the noise is seeded by ``seed``.
    """

    defaults = {"chunk_size": 64, "nt_samples": 20, "stdevs": 0.15, "nt_type": "smoothgrad", "seed": 0}
    uses_global_rng = True

    def _captum(self, forward):
        return captum.attr.NoiseTunnel(captum.attr.Saliency(forward))

    def _noisy_per_pass(self, opts):
        return min(opts["nt_samples"], opts["chunk_size"])

    def _inputs_per_chunk(self, opts):
        return max(1, opts["chunk_size"] // self._noisy_per_pass(opts))

    def _captum_kwargs(self, inputs, opts):
        return {"nt_type": opts["nt_type"], "nt_samples": opts["nt_samples"], "stdevs": opts["stdevs"],
                "nt_samples_batch_size": self._noisy_per_pass(opts)}


class GradientShap(CaptumMethod):
    """captum GradientShap; the baselines are the black image (text: α = 0) plus ``bg_size − 1``
    uniform random ones (seeded), so ``bg_size=1`` is the black baseline alone."""

    captum_class = captum.attr.GradientShap
    defaults = {"chunk_size": 64, "n_samples": 20, "stdevs": 0.0, "bg_size": 10, "seed": 0}
    uses_global_rng = True

    def _inputs_per_chunk(self, opts):
        return max(1, opts["chunk_size"] // opts["n_samples"])

    def _captum_kwargs(self, variable, opts):
        shape = (opts["bg_size"] - 1, *variable.shape[1:])
        noise = torch.rand(shape, generator=torch.Generator().manual_seed(opts["seed"])).to(variable)
        baselines = torch.cat([torch.zeros_like(variable[:1]), noise]).detach()
        return {"baselines": baselines, "n_samples": opts["n_samples"], "stdevs": opts["stdevs"]}


class CaptumAblation(CaptumMethod):
    """Removal of one feature at a time (patch set to black; text: α of the token set to 0), the
    drop of the target logit being the feature's score; as many removals per pass as
    ``chunk_size`` allows."""

    signed_features = True

    def _per_eval(self, variable, opts):
        return max(1, opts["chunk_size"] // variable.shape[0])


class FeatureAblation(CaptumAblation):
    """captum FeatureAblation with the patch (text: position) index as ``feature_mask``."""

    captum_class = captum.attr.FeatureAblation

    def _captum_kwargs(self, variable, opts):
        if self.model.modality == "text":
            mask = torch.arange(variable.shape[1], device=variable.device)[None]
        else:
            mask = patch_index(variable.shape[-1], self.model.patch, variable.device)
        return {"baselines": 0.0, "feature_mask": mask, "perturbations_per_eval": self._per_eval(variable, opts)}


class Occlusion(CaptumAblation):
    """captum Occlusion with patch-sized windows and patch strides: one window per grid cell, so on
    the patch grid it equals ``feature_ablation``."""

    captum_class = captum.attr.Occlusion

    def _captum_kwargs(self, variable, opts):
        if self.model.modality == "text":
            window, strides = (1,), (1,)
        else:
            patch, channels = self.model.patch, variable.shape[1]
            window, strides = (channels, patch, patch), (channels, patch, patch)
        return {"sliding_window_shapes": window, "strides": strides, "baselines": 0.0,
                "perturbations_per_eval": self._per_eval(variable, opts)}


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
    are zeroed, so their slope is 0; without ridge the pseudo-inverse gives the minimum-norm
    solution, as sklearn's least squares does for rank-deficient designs.
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
    return (torch.linalg.pinv(gram, hermitian=True) @ rhs[..., None]).squeeze(-1)


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

    def _attribute(self, inputs, target, opts):
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


def target_logit(logits, target):
    return logits.gather(1, target[:, None]).squeeze(1)


def target_log_softmax(logits, target):
    return target_logit(logits.log_softmax(dim=1), target)


def contrastive_logit(logits, target):
    """Target logit minus the mean of the other logits weighted by their softmax (renormalised
    over the other classes); the weights are differentiated too."""
    is_target = F.one_hot(target, logits.shape[1]).bool()
    weights = logits.masked_fill(is_target, float("-inf")).softmax(dim=1)
    return target_logit(logits, target) - (weights * logits.masked_fill(is_target, 0.0)).sum(dim=1)


OBJECTIVES = {"logit": target_logit, "log_softmax": target_log_softmax, "contrastive": contrastive_logit}


class PathAttribution(AttributionMethod):
    """Path-integral family with optional re-calibration (spec: "The path-attribution family").

    For references r_b and k points s_{b,j} = r_b + α_j (x − r_b) on every reference (the full
    grid, α_j = (j + ½)/k, or uniform random α for ``expgrad``), gradients g of the objective at
    all N·B·k points go through the model ``chunk_size`` points per pass and are reduced per input:
    vanilla A = mean_{b,j} (x − r_b) · g_{b,j}; re-calibrated A = mean of the terms
    t = g · (x − s) that are ≥ 0 (0 where none is). Random references are drawn once for all
    inputs (N·B of them), so results do not depend on ``chunk_size``. Images only, except the
    black-reference ``intgrad_path``, which on text integrates the keep-mask α from 0 to 1.
    """

    reference = "black"
    random_alpha = False
    defaults = {"chunk_size": 64, "n_points": 5, "recalibrate": False, "objective": "logit"}

    def _references(self, x, opts, generator) -> torch.Tensor:
        """(N, B, *input shape) references; the black one (text: α = 0) here."""
        return x.new_zeros(1, 1, *x.shape[1:]).expand(x.shape[0], 1, *x.shape[1:])

    def _alphas(self, n_inputs, n_refs, opts, generator) -> torch.Tensor:
        k = opts["n_points"]
        if self.random_alpha:
            return torch.rand(n_inputs, n_refs, k, generator=generator)
        return ((torch.arange(k, dtype=torch.float64) + 0.5) / k).float().expand(n_inputs, n_refs, k)

    def attribute(self, inputs: torch.Tensor, target=None, **options) -> Attribution:
        opts = self._merged(self.options, options)
        if opts["objective"] not in OBJECTIVES:
            raise ValueError(f"unknown objective {opts['objective']!r}; expected one of {sorted(OBJECTIVES)}")
        text = self.model.modality == "text"
        if text and self.reference != "black":
            raise NotImplementedError(f"{type(self).__name__} has no text version; use intgrad_path")
        target = self.targets(inputs, target, opts["chunk_size"])
        x = torch.ones(inputs.shape, device=inputs.device) if text else inputs.detach()
        generator = torch.Generator().manual_seed(opts.get("seed", 0))
        refs = self._references(x, opts, generator)
        n_inputs, n_refs = refs.shape[:2]
        alphas = self._alphas(n_inputs, n_refs, opts, generator).to(x)
        per_input = alphas[0].numel()
        objective = OBJECTIVES[opts["objective"]]
        vanilla, kept_sum, kept_count = torch.zeros_like(x), torch.zeros_like(x), torch.zeros_like(x)
        for rows in torch.arange(n_inputs * per_input, device=x.device).split(opts["chunk_size"]):
            owner, ref = rows // per_input, rows // opts["n_points"] % n_refs
            r, xi = refs[owner, ref], x[owner]
            a = alphas.reshape(-1)[rows].view(-1, *[1] * (x.dim() - 1))
            points = (r + a * (xi - r)).requires_grad_()
            with torch.enable_grad():
                logits = self.model(inputs[owner], keep=points) if text else self.model(points)
                grad = torch.autograd.grad(objective(logits, target[owner]).sum(), points)[0]
            terms = grad * (xi - points.detach())
            vanilla.index_add_(0, owner, grad * (xi - r))
            kept_sum.index_add_(0, owner, terms.clamp_min(0))
            kept_count.index_add_(0, owner, (terms >= 0).to(terms))
        attr = kept_sum / kept_count.clamp_min(1) if opts["recalibrate"] else vanilla / per_input
        mask = self.model.feature_mask(inputs)
        if text:
            return Attribution(None, attr.abs() * mask.to(attr))
        return Attribution(attr, pixel_to_features(attr, self.model.patch) * mask.to(attr))


class IntGradSG(PathAttribution):
    """References x + N(0, σ²) clamped to [0, 1]; σ = 0.15 · (max − min) of the [0, 1] range."""

    reference = "noise"
    defaults = {**PathAttribution.defaults, "bg_size": 10, "sigma": 0.15, "seed": 0}

    def _references(self, x, opts, generator):
        noise = torch.randn(x.shape[0], opts["bg_size"], *x.shape[1:], generator=generator).to(x)
        return (x[:, None] + opts["sigma"] * noise).clamp(0, 1)


class IntGradUniform(PathAttribution):
    """References drawn uniformly from the [0, 1] input range."""

    reference = "uniform"
    defaults = {**PathAttribution.defaults, "bg_size": 10, "seed": 0}

    def _references(self, x, opts, generator):
        return torch.rand(x.shape[0], opts["bg_size"], *x.shape[1:], generator=generator).to(x)


class ExpectedGradients(PathAttribution):
    """Expected gradients: references drawn (with replacement) from ``references`` — training
    images, given as an option or as ``baselines`` at attribute time — and α uniform per point."""

    reference = "data"
    random_alpha = True
    defaults = {**PathAttribution.defaults, "bg_size": 10, "seed": 0, "references": None}

    def attribute(self, inputs, target=None, baselines=None, **options):
        if baselines is not None:
            options["references"] = baselines
        return super().attribute(inputs, target, **options)

    def _references(self, x, opts, generator):
        pool = opts["references"]
        if pool is None:
            raise ValueError("expgrad needs reference images: pass references= (e.g. training images)")
        index = torch.randint(pool.shape[0], (x.shape[0], opts["bg_size"]), generator=generator)
        return pool.to(x)[index.to(x.device)]


class RandomAttribution(AttributionMethod):
    """Control: seeded uniform random feature scores (the same for every call with one seed)."""

    defaults = {"chunk_size": 64, "seed": 0}

    def attribute(self, inputs, target=None, **options):
        opts = self._merged(self.options, options)
        n, p = inputs.shape[0], self.model.num_features(inputs)
        scores = torch.rand(n, p, generator=torch.Generator().manual_seed(opts["seed"])).to(inputs.device)
        return Attribution(None, scores * self.model.feature_mask(inputs).to(scores))


class SmugBase(AttributionMethod):
    """SMUG's map before solving (``attrib.smug``): the first-layer neurons chosen by integrated
    gradients paint their scores over their receptive fields. CNNs only (resnet, textcnn)."""

    defaults = {"chunk_size": 64, **smug.SMUG_DEFAULTS}
    solve_masks = False

    def _attribute(self, inputs, target, opts):
        result = smug.explain(self.model, inputs, target, solve_masks=self.solve_masks, progress=False, **opts)
        maps = result.smug if self.solve_masks else result.base
        if self.model.modality == "text":
            return Attribution(None, maps[:, 0])
        pixel_map = maps[:, None].expand(-1, inputs.shape[1], -1, -1)
        return Attribution(pixel_map, pixel_to_features(pixel_map, self.model.patch))


class Smug(SmugBase):
    """SMUG: ``smug_base`` kept only on the fewest windows (tokens) that keep the chosen neurons
    active, found by a 0/1 program (``backend`` milp or z3), scaled to its 99th percentile."""

    solve_masks = True


METHODS: dict[str, type[AttributionMethod]] = {
    "saliency": Saliency,
    "inputxgrad": InputXGradient,
    "smoothgrad": SmoothGrad,
    "gradshap": GradientShap,
    "intgrad": IntegratedGradients,
    "intgrad_path": PathAttribution,
    "intgrad_sg": IntGradSG,
    "intgrad_uniform": IntGradUniform,
    "expgrad": ExpectedGradients,
    "occlusion": Occlusion,
    "feature_ablation": FeatureAblation,
    "lime": Lime,
    "kernelshap": KernelShap,
    "random": RandomAttribution,
    "smug_base": SmugBase,
    "smug": Smug,
}


def path_family(name: str) -> str | None:
    """The path method whose vanilla/re-calibrated pair ``name`` belongs to, None outside the
    family; captum's ``intgrad`` is the vanilla ``intgrad_path`` (equal by test)."""
    if name == "intgrad":
        return "intgrad_path"
    return name if issubclass(METHODS[name], PathAttribution) else None


def build_method(name: str, model, **options) -> AttributionMethod:
    if name not in METHODS:
        raise ValueError(f"unknown attribution method {name!r}; expected one of {sorted(METHODS)}")
    return METHODS[name](model, **options)
