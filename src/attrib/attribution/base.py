"""The interface every attribution method follows (captum's shape): a method is built on a model,
``method(model, **options).attribute(inputs, target=None, **options)`` returns an
:class:`Attribution` with a pixel-level ``map`` (images; None where a method has none) and
``features`` (N, p): the mean |map| per patch for gradient methods, the native signed score per
feature for perturbation methods. Text models have no pixel map: gradient methods attribute the
keep-mask α ∈ [0,1]^L at α = 1, and features are |attribution| of α, zero at non-feature
positions. Every method takes ``chunk_size``, the number of model inputs (images, perturbed
copies or interpolation points) per forward/backward pass, which bounds memory.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from attrib.features import upsample_keep
from attrib.models.base import chunked_logits, class_targets
from attrib.runtime import progress_bar


@dataclass
class Attribution:
    map: torch.Tensor | None
    features: torch.Tensor


def stored_maps(result: Attribution, model, image_size: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """What the attribute stage keeps of one result, on the CPU: the signed map summed over
    channels (float16, only drawn) and the magnitude, |map| summed over channels (float32:
    DiffID, the saliency metric and the ground-truth scores rank its pixels, and float16 rounding
    ties many of them, leaving their order arbitrary). Feature-level image methods paint each
    patch's |score| on its pixels; text has neither map."""
    if result.map is not None:
        pixel_map = result.map.detach()
        return pixel_map.sum(dim=1).half().cpu(), pixel_map.abs().sum(dim=1).float().cpu()
    if model.modality == "image":
        return None, upsample_keep(result.features.detach().abs(), image_size, model.patch)[:, 0].float().cpu()
    return None, None


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

    def targets(self, inputs: torch.Tensor, target, chunk_size: int) -> torch.Tensor:
        """(N,) long: the predicted class when ``target`` is None; an int applies to all."""
        if target is None:
            return chunked_logits(self.model, inputs, chunk_size=chunk_size).argmax(dim=1)
        return class_targets(target, inputs.new_empty(inputs.shape[0], 0))

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
        chunks = progress_bar(range(0, inputs.shape[0], size), desc=f"{type(self).__name__}, {size} inputs per chunk")
        parts = [self._attribute(inputs[a:a + size], target[a:a + size], opts) for a in chunks]
        pixel_map = None if parts[0].map is None else torch.cat([part.map for part in parts])
        features = torch.cat([part.features for part in parts])
        return Attribution(pixel_map, features * self.model.feature_mask(inputs).to(features))

    def _attribute(self, inputs, target, opts) -> Attribution:
        raise NotImplementedError


class RandomAttribution(AttributionMethod):
    """Control: seeded uniform random feature scores (the same for every call with one seed)."""

    defaults = {"chunk_size": 64, "seed": 0}

    def attribute(self, inputs, target=None, **options):
        opts = self._merged(self.options, options)
        n, p = inputs.shape[0], self.model.num_features(inputs)
        scores = torch.rand(n, p, generator=torch.Generator().manual_seed(opts["seed"])).to(inputs.device)
        return Attribution(None, scores * self.model.feature_mask(inputs).to(scores))
