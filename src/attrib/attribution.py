"""Attribution methods behind one captum-shaped interface.

``build_method(name, model, **options).attribute(inputs, target=None, **options)`` returns an
:class:`Attribution` with a pixel-level ``map`` (images; None where a method has none) and
``features`` (N, p), the mean |map| per patch. Text models have no pixel map: gradient
methods attribute the keep-mask α ∈ [0,1]^L at α = 1, and features are |attribution| of α,
zero at non-feature positions. Adding a method is one registry entry. See
``shared/spec/attribution.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import captum.attr
import torch

from attrib.features import pixel_to_features


@dataclass
class Attribution:
    map: torch.Tensor | None
    features: torch.Tensor


class AttributionMethod:
    """Base class: option handling, default targets, chunking over inputs and feature masks.

    Subclasses list their options with defaults in ``defaults`` (every method takes
    ``chunk_size``, the number of inputs per batch) and implement ``_attribute`` for one chunk.
    """

    defaults: dict = {"chunk_size": 64}

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

    def attribute(self, inputs: torch.Tensor, target=None, **options) -> Attribution:
        opts = self._merged(self.options, options)
        size = opts["chunk_size"]
        target = self.targets(inputs, target, size)
        parts = [self._attribute(inputs[a:a + size], target[a:a + size], opts)
                 for a in range(0, inputs.shape[0], size)]
        pixel_map = None if parts[0].map is None else torch.cat([part.map for part in parts])
        features = torch.cat([part.features for part in parts])
        return Attribution(pixel_map, features * self.model.feature_mask(inputs).to(features))

    def _attribute(self, inputs, target, opts) -> Attribution:
        raise NotImplementedError


class CaptumGradientMethod(AttributionMethod):
    """A captum gradient method on pixels (images) or on the keep-mask α (text)."""

    captum_class: type

    def _captum_kwargs(self, inputs, opts) -> dict:
        raise NotImplementedError

    def _attribute(self, inputs, target, opts):
        model = self.model
        if model.modality == "text":
            method = self.captum_class(lambda alpha, ids: model(ids, keep=alpha))
            alpha = torch.ones(inputs.shape, device=inputs.device, requires_grad=True)
            attr = method.attribute(alpha, target=target, additional_forward_args=(inputs,),
                                    **self._captum_kwargs(alpha, opts))
            return Attribution(None, attr.detach().abs())
        inputs = inputs.detach().requires_grad_()
        attr = self.captum_class(model).attribute(inputs, target=target, **self._captum_kwargs(inputs, opts))
        attr = attr.detach()
        return Attribution(attr, pixel_to_features(attr, model.patch))


class Saliency(CaptumGradientMethod):
    """|∂ target logit / ∂ input| (captum Saliency; ``abs`` as in captum)."""

    captum_class = captum.attr.Saliency
    defaults = {"chunk_size": 64, "abs": True}

    def _captum_kwargs(self, inputs, opts):
        return {"abs": opts["abs"]}


class IntegratedGradients(CaptumGradientMethod):
    """captum IntegratedGradients from the black image (text: from α = 0) to the input."""

    captum_class = captum.attr.IntegratedGradients
    defaults = {"chunk_size": 64, "n_steps": 32, "method": "gausslegendre"}

    def _captum_kwargs(self, inputs, opts):
        return {"baselines": torch.zeros_like(inputs), "n_steps": opts["n_steps"], "method": opts["method"],
                "internal_batch_size": opts["chunk_size"]}


class RandomAttribution(AttributionMethod):
    """Control: seeded uniform random feature scores (the same for every call with one seed)."""

    defaults = {"chunk_size": 64, "seed": 0}

    def attribute(self, inputs, target=None, **options):
        opts = self._merged(self.options, options)
        n, p = inputs.shape[0], self.model.num_features(inputs)
        scores = torch.rand(n, p, generator=torch.Generator().manual_seed(opts["seed"])).to(inputs.device)
        return Attribution(None, scores * self.model.feature_mask(inputs).to(scores))


METHODS: dict[str, type[AttributionMethod]] = {
    "saliency": Saliency,
    "intgrad": IntegratedGradients,
    "random": RandomAttribution,
}


def build_method(name: str, model, **options) -> AttributionMethod:
    if name not in METHODS:
        raise ValueError(f"unknown attribution method {name!r}; expected one of {sorted(METHODS)}")
    return METHODS[name](model, **options)
