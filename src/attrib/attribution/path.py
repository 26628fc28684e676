"""The path-attribution family of the re-calibration paper (Yang et al., ICLR 2023): integrated
gradients from black, noisy (IntGrad-SG) and uniform references and expected gradients, each
vanilla or re-calibrated (only the interpolation terms that agree in sign with the path)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from attrib.attribution.base import Attribution, AttributionMethod
from attrib.features import pixel_to_features
from attrib.runtime import progress_bar


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
    """Path-integral family with optional re-calibration (Yang et al., ICLR 2023).

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
        chunks = torch.arange(n_inputs * per_input, device=x.device).split(opts["chunk_size"])
        for rows in progress_bar(chunks, desc=f"{type(self).__name__}, {opts['chunk_size']} path points per chunk"):
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
