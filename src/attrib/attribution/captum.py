"""captum's gradient and ablation methods behind the project's interface: on pixels for images,
on the keep-mask α at α = 1 for text."""

from __future__ import annotations

import captum.attr
import torch

from attrib.attribution.base import Attribution, AttributionMethod, signed_patch_means
from attrib.features import pixel_to_features


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
    defaults = {"chunk_size": 64, "n_steps": 32, "integration": "gausslegendre"}

    def _captum_kwargs(self, inputs, opts):
        return {"baselines": torch.zeros_like(inputs), "n_steps": opts["n_steps"], "method": opts["integration"],
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


class Occlusion(CaptumMethod):
    """Removal of one feature at a time (patch set to black; text: α of the token set to 0), the
    drop of the target logit being the feature's score: captum Occlusion with patch-sized windows
    and patch strides, one window per grid cell (on this grid captum FeatureAblation with a patch
    ``feature_mask`` computes the same, so the registry holds one of the two); as many removals per
    pass as ``chunk_size`` allows."""

    captum_class = captum.attr.Occlusion
    signed_features = True

    def _captum_kwargs(self, variable, opts):
        if self.model.modality == "text":
            window, strides = (1,), (1,)
        else:
            patch, channels = self.model.patch, variable.shape[1]
            window, strides = (channels, patch, patch), (channels, patch, patch)
        return {"sliding_window_shapes": window, "strides": strides, "baselines": 0.0,
                "perturbations_per_eval": max(1, opts["chunk_size"] // variable.shape[0])}
