"""captum's gradient and ablation methods behind the project's interface, and the sampled
gradient methods (SmoothGrad, GradientSHAP) computed as captum does but with noise keyed per
input: on pixels for images, on the keep-mask α at α = 1 for text."""

from __future__ import annotations

import importlib

import torch

from attrib.attribution.base import Attribution, AttributionMethod, signed_patch_means
from attrib.features import pixel_to_features
from attrib.seeding import sample_generator


class CaptumMethod(AttributionMethod):
    """A captum method on pixels (images) or on the keep-mask α at α = 1 (text).

    Gradient methods report features as the mean |map| per patch; perturbation methods
    (``signed_features``) report their native signed score per feature.
    """

    captum_class: str  # a class of ``captum.attr``, imported by the job that runs it (captum costs ~1 s)
    signed_features = False

    def _captum(self, forward):
        return getattr(importlib.import_module("captum.attr"), self.captum_class)(forward)

    def _captum_kwargs(self, variable: torch.Tensor, opts: dict) -> dict:
        return {}

    def _attribute(self, inputs, target, opts, index):
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

    captum_class = "Saliency"
    defaults = {"chunk_size": 64, "abs": True}

    def _captum_kwargs(self, inputs, opts):
        return {"abs": opts["abs"]}


class InputXGradient(CaptumMethod):
    """input ⊙ ∂ target logit / ∂ input (captum InputXGradient; text: the gradient at α = 1)."""

    captum_class = "InputXGradient"


class IntegratedGradients(CaptumMethod):
    """captum IntegratedGradients from the black image (text: from α = 0) to the input."""

    captum_class = "IntegratedGradients"
    defaults = {"chunk_size": 64, "n_steps": 32, "integration": "gausslegendre"}

    def _captum_kwargs(self, inputs, opts):
        return {"baselines": torch.zeros_like(inputs), "n_steps": opts["n_steps"], "method": opts["integration"],
                "internal_batch_size": opts["chunk_size"]}


class SampledGradients(AttributionMethod):
    """Gradients averaged over random points drawn around each input (SmoothGrad, GradientSHAP).

    captum's NoiseTunnel and GradientShap draw from the global generator for a whole batch, so
    an input's noise would depend on the inputs batched (and sharded) with it. These draw each
    input's points from a generator keyed by (``seed``, its evaluation-set index) and compute
    what captum computes: on pixels for images, on the keep-mask α at α = 1 for text. Subclasses
    give ``_points`` (the S points and the factor multiplying their gradients) and may give
    ``_shared`` (draws common to every input) and ``_reduce``.
    """

    stream: str

    def _samples(self, opts) -> int:
        raise NotImplementedError

    def _inputs_per_chunk(self, opts):
        return max(1, opts["chunk_size"] // self._samples(opts))

    def _shared(self, shape, opts):
        """What every input's points share (drawn once from ``seed``)."""
        return None

    def _points(self, variable, generator, opts, shared) -> tuple[torch.Tensor, torch.Tensor]:
        """(S, *shape) points around one input's ``variable`` (on the CPU) and the (S, *shape)
        factor that multiplies their gradients."""
        raise NotImplementedError

    def _reduce(self, terms: torch.Tensor, opts) -> torch.Tensor:
        """(S, *shape) per-point terms -> the input's attribution."""
        return terms.mean(dim=0)

    def _attribute(self, inputs, target, opts, index):
        model, text = self.model, self.model.modality == "text"
        variables = torch.ones(inputs.shape, device=inputs.device) if text else inputs.detach()
        shared = self._shared(variables.shape[1:], opts)
        drawn = [self._points(v, sample_generator(opts["seed"], self.stream, i), opts, shared)
                 for v, i in zip(variables.cpu(), index)]
        points = torch.stack([pts for pts, _ in drawn]).to(variables)  # (n, S, *shape)
        factor = torch.stack([f for _, f in drawn]).to(variables)
        n, s = points.shape[:2]
        flat, owner = points.flatten(0, 1), torch.arange(n, device=inputs.device).repeat_interleave(s)
        grads = []
        for rows in torch.arange(n * s, device=inputs.device).split(opts["chunk_size"]):
            point = flat[rows].detach().requires_grad_()
            with torch.enable_grad():
                logits = model(inputs[owner[rows]], keep=point) if text else model(point)
                grads.append(torch.autograd.grad(logits.gather(1, target[owner[rows], None]).sum(), point)[0])
        terms = torch.cat(grads).view_as(points) * factor
        attr = torch.stack([self._reduce(t, opts) for t in terms]).detach()
        if text:
            return Attribution(None, attr.abs())
        return Attribution(attr, pixel_to_features(attr, model.patch))


class SmoothGrad(SampledGradients):
    """SmoothGrad as captum's NoiseTunnel over Saliency: |∂ target logit / ∂ input| at
    ``nt_samples`` noisy copies x + N(0, ``stdevs``²) (input units: 0.15 of the [0, 1] range),
    averaged (``nt_type`` smoothgrad), squared then averaged (smoothgrad_sq) or their variance
    (vargrad)."""

    defaults = {"chunk_size": 64, "nt_samples": 20, "stdevs": 0.15, "nt_type": "smoothgrad", "seed": 0}
    stream = "smoothgrad"
    NT_TYPES = ("smoothgrad", "smoothgrad_sq", "vargrad")

    def _samples(self, opts):
        return opts["nt_samples"]

    def _shared(self, shape, opts):
        if opts["nt_type"] not in self.NT_TYPES:
            raise ValueError(f"unknown nt_type {opts['nt_type']!r}; expected one of {self.NT_TYPES}")

    def _points(self, variable, generator, opts, shared):
        shape = (opts["nt_samples"], *variable.shape)
        return variable + torch.randn(shape, generator=generator) * opts["stdevs"], torch.ones(shape)

    def _reduce(self, terms, opts):
        terms = terms.abs()  # Saliency's absolute gradients
        if opts["nt_type"] == "smoothgrad":
            return terms.mean(dim=0)
        if opts["nt_type"] == "smoothgrad_sq":
            return (terms**2).mean(dim=0)
        return (terms**2).mean(dim=0) - terms.mean(dim=0) ** 2


class GradientShap(SampledGradients):
    """GradientSHAP as captum computes it: per sample, a noisy input x̃ = x + N(0, ``stdevs``²),
    a baseline b drawn from the black image (text: α = 0) and ``bg_size − 1`` uniform random
    ones (shared by every input, seeded), α ~ U(0, 1); the mean over ``n_samples`` samples of
    ∂ target logit / ∂ input at b + α(x̃ − b), times (x̃ − b)."""

    defaults = {"chunk_size": 64, "n_samples": 20, "stdevs": 0.0, "bg_size": 10, "seed": 0}
    stream = "gradshap"

    def _samples(self, opts):
        return opts["n_samples"]

    def _shared(self, shape, opts):
        """The baselines: black and ``bg_size − 1`` uniform random ones."""
        noise = torch.rand(opts["bg_size"] - 1, *shape, generator=torch.Generator().manual_seed(opts["seed"]))
        return torch.cat([torch.zeros(1, *shape), noise])

    def _points(self, variable, generator, opts, baselines):
        s = opts["n_samples"]
        noisy = variable + torch.randn((s, *variable.shape), generator=generator) * opts["stdevs"]
        baseline = baselines[torch.randint(len(baselines), (s,), generator=generator)]
        alpha = torch.rand(s, *[1] * variable.dim(), generator=generator)
        return baseline + alpha * (noisy - baseline), noisy - baseline


class Occlusion(CaptumMethod):
    """Removal of one feature at a time (patch set to black; text: α of the token set to 0), the
    drop of the target logit being the feature's score: captum Occlusion with patch-sized windows
    and patch strides, one window per grid cell (on this grid captum FeatureAblation with a patch
    ``feature_mask`` computes the same, so the registry holds one of the two); as many removals per
    pass as ``chunk_size`` allows."""

    captum_class = "Occlusion"
    signed_features = True

    def _captum_kwargs(self, variable, opts):
        if self.model.modality == "text":
            window, strides = (1,), (1,)
        else:
            patch, channels = self.model.patch, variable.shape[1]
            window, strides = (channels, patch, patch), (channels, patch, patch)
        return {"sliding_window_shapes": window, "strides": strides, "baselines": 0.0,
                "perturbations_per_eval": max(1, opts["chunk_size"] // variable.shape[0])}
