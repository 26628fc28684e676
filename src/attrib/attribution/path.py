"""The path-attribution family of the re-calibration paper (Yang et al., ICLR 2023): integrated
gradients from black, noisy (IntGrad-SG) and uniform references and expected gradients, each
vanilla or re-calibrated (only the interpolation terms that agree in sign with the path)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from attrib.attribution.base import Attribution, AttributionMethod
from attrib.features import pixel_to_features
from attrib.runtime import progress_bar
from attrib.seeding import per_sample, sample_indices


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
    t = g · (x − s) that are ≥ 0 (0 where none is). An input's random references (and α) come
    from a generator keyed by (``seed``, its evaluation-set ``index``), drawn for the few inputs
    of one pass at a time: results depend neither on ``chunk_size`` nor on the sharding, and
    memory holds one pass's references. Images only, except the black-reference
    ``intgrad_path``, which on text integrates the keep-mask α from 0 to 1.
    """

    reference = "black"
    stream = "intgrad_path"  # names the keyed random draws (attrib.seeding)
    random_alpha = False
    defaults = {"chunk_size": 64, "n_points": 5, "recalibrate": False, "objective": "logit"}

    def _references(self, x, opts, index) -> torch.Tensor:
        """(n, B, *input shape) references of the inputs ``x`` at evaluation-set ``index``; the
        black one (text: α = 0) here."""
        return x.new_zeros(1, 1, *x.shape[1:]).expand(x.shape[0], 1, *x.shape[1:])

    def _alphas(self, n_refs, opts, index) -> torch.Tensor:
        k = opts["n_points"]
        if self.random_alpha:
            return per_sample(opts["seed"], f"{self.stream}/alpha", index, lambda g: torch.rand(n_refs, k, generator=g))
        return ((torch.arange(k, dtype=torch.float64) + 0.5) / k).float().expand(len(index), n_refs, k)

    def _n_refs(self, opts) -> int:
        return opts.get("bg_size", 1)

    def attribute(self, inputs: torch.Tensor, target=None, index=None, **options) -> Attribution:
        opts = self._merged(self.options, options)
        if opts["objective"] not in OBJECTIVES:
            raise ValueError(f"unknown objective {opts['objective']!r}; expected one of {sorted(OBJECTIVES)}")
        text = self.model.modality == "text"
        if text and self.reference != "black":
            raise NotImplementedError(f"{type(self).__name__} has no text version; use intgrad_path")
        target = self.targets(inputs, target, opts["chunk_size"])
        x = torch.ones(inputs.shape, device=inputs.device) if text else inputs.detach()
        index = sample_indices(x.shape[0], index)
        n_refs = self._n_refs(opts)
        per_input = n_refs * opts["n_points"]
        objective = OBJECTIVES[opts["objective"]]
        vanilla, kept_sum, kept_count = torch.zeros_like(x), torch.zeros_like(x), torch.zeros_like(x)
        group = max(1, opts["chunk_size"] // per_input)  # the inputs whose points fill one pass
        starts = range(0, x.shape[0], group)
        for start in progress_bar(starts, desc=f"{type(self).__name__}, {group} inputs' path points per chunk"):
            stop = min(start + group, x.shape[0])
            refs = self._references(x[start:stop], opts, index[start:stop])
            alphas = self._alphas(n_refs, opts, index[start:stop]).to(x)
            for rows in torch.arange((stop - start) * per_input, device=x.device).split(opts["chunk_size"]):
                local, ref = rows // per_input, rows // opts["n_points"] % n_refs
                owner = local + start
                r, xi = refs[local, ref], x[owner]
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
    stream = "intgrad_sg"
    defaults = {**PathAttribution.defaults, "bg_size": 10, "sigma": 0.15, "seed": 0}

    def _references(self, x, opts, index):
        shape = (opts["bg_size"], *x.shape[1:])
        noise = per_sample(opts["seed"], self.stream, index, lambda g: torch.randn(shape, generator=g)).to(x)
        return (x[:, None] + opts["sigma"] * noise).clamp(0, 1)


class IntGradUniform(PathAttribution):
    """References drawn uniformly from the [0, 1] input range."""

    reference = "uniform"
    stream = "intgrad_uniform"
    defaults = {**PathAttribution.defaults, "bg_size": 10, "seed": 0}

    def _references(self, x, opts, index):
        shape = (opts["bg_size"], *x.shape[1:])
        return per_sample(opts["seed"], self.stream, index, lambda g: torch.rand(shape, generator=g)).to(x)


class ExpectedGradients(PathAttribution):
    """Expected gradients: references drawn (with replacement) from ``references`` — training
    images, given as an option or as ``baselines`` at attribute time — and α uniform per point."""

    reference = "data"
    stream = "expgrad"
    random_alpha = True
    defaults = {**PathAttribution.defaults, "bg_size": 10, "seed": 0, "references": None}

    def attribute(self, inputs, target=None, index=None, baselines=None, **options):
        if baselines is not None:
            options["references"] = baselines
        return super().attribute(inputs, target, index, **options)

    def _references(self, x, opts, index):
        pool = opts["references"]
        if pool is None:
            raise ValueError("expgrad needs reference images: pass references= (e.g. training images)")
        size = (opts["bg_size"],)
        chosen = per_sample(opts["seed"], self.stream, index, lambda g: torch.randint(pool.shape[0], size, generator=g))
        return pool[chosen.to(pool.device)].to(x)
