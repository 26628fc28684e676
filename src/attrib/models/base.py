"""The one model interface every downstream stage calls: ``model(x, keep=α, removal=...)``.

Features are patches for images and tokens for text (see ``attrib.features``); ``keep`` is an
(N, p) mask in [0, 1] and the wrapper decides how a missing feature is realised, so that
attributions, MuS, ablations and LIME never touch pixels, embeddings or tokens themselves.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from attrib.catalogue import IMAGE_REMOVAL_MODES, model_modality
from attrib.features import apply_removal, num_patches

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def merge_options(name: str, defaults: dict[str, Any], options: dict[str, Any] | None) -> dict[str, Any]:
    """Builder options over their defaults; an unknown key is a typo in the config, so it fails."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ValueError(f"model {name!r} has no option(s) {unknown}; known: {sorted(defaults)}")
    return {**defaults, **options}


def require_modality(meta: dict[str, Any], name: str, modality: str | None = None) -> None:
    """Fail early when a model is paired with a dataset of the other modality (``modality``:
    the model's, where ``name`` is no registered model but a source)."""
    modality = modality or model_modality(name)
    if meta.get("modality") != modality:
        raise ValueError(
            f"model {name!r} is for {modality} data but the dataset's modality is {meta.get('modality')!r}"
        )


class FeatureClassifier(nn.Module):
    """A classifier whose inputs are sets of features that can be (partly) removed."""

    modality: str
    default_removal: str

    def __init__(self, num_classes: int):
        super().__init__()
        self.num_classes = int(num_classes)

    def num_features(self, x: torch.Tensor) -> int:
        raise NotImplementedError

    def feature_mask(self, x: torch.Tensor) -> torch.Tensor:
        """bool (N, p): which features are real (the rest are always kept and never scored)."""
        raise NotImplementedError

    def forward(
        self, x: torch.Tensor, keep: torch.Tensor | None = None, removal: str | None = None
    ) -> torch.Tensor:
        raise NotImplementedError

    def _check_keep(self, x: torch.Tensor, keep: torch.Tensor) -> None:
        expected = (x.shape[0], self.num_features(x))
        if tuple(keep.shape) != expected:
            raise ValueError(f"keep has shape {tuple(keep.shape)}, expected (N, p) = {expected}")


def require_feature_classifier(model, what: str) -> None:
    """Fail with how to wrap a plain torch network: every method here removes features
    through ``model(x, keep=α, removal=...)``, the interface of a ``FeatureClassifier`` (or of
    any model that takes ``keep``)."""
    try:
        if "keep" in inspect.signature(model.forward).parameters:
            return
    except (AttributeError, TypeError, ValueError):  # no forward, or one without a signature
        pass
    raise TypeError(
        f"{what} needs an attrib FeatureClassifier, called as model(x, keep=α, removal=...), not a plain "
        f"{type(model).__name__}. Wrap an image network (inputs in [0, 1], normalised inside, features the "
        f"patches of a grid): attrib.ImageClassifier(net, num_classes=1000, image_size=224, patch=16); "
        f"text models: attrib.build_model('bert', meta). See docs/library.md."
    )


class ImageClassifier(FeatureClassifier):
    """A torchvision network on [0, 1] images; removal happens in pixel space, then normalisation.

    ``generator`` (a ``torch.Generator``, an ``attrib.seeding.KeyedRows`` or None) drives the
    random removal modes (``patch_color``, ``noise``) so that callers can make them reproducible.
    """

    modality = "image"
    default_removal = "black"

    def __init__(
        self,
        net: nn.Module,
        *,
        num_classes: int,
        image_size: int,
        patch: int,
        mean: tuple[float, ...] = IMAGENET_MEAN,
        std: tuple[float, ...] = IMAGENET_STD,
        dataset_mean: tuple[float, ...] | None = None,
    ):
        super().__init__(num_classes)
        self.net = net
        self.image_size = int(image_size)
        self.patch = int(patch)
        num_patches(self.image_size, self.patch)  # validates that the grid tiles the image
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        fill = mean if dataset_mean is None else dataset_mean
        self.register_buffer("dataset_mean", torch.tensor(fill, dtype=torch.float32))
        self.generator: torch.Generator | None = None

    def num_features(self, x: torch.Tensor) -> int:
        return num_patches(x.shape[-1], self.patch)

    def feature_mask(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ones(x.shape[0], self.num_features(x), dtype=torch.bool, device=x.device)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def remove(self, x: torch.Tensor, keep: torch.Tensor, removal: str) -> torch.Tensor:
        """Pixel-space removal of the features that ``keep`` drops."""
        if removal not in IMAGE_REMOVAL_MODES:
            raise ValueError(f"unknown removal mode {removal!r} for images; expected one of {IMAGE_REMOVAL_MODES}")
        if removal == "drop":
            raise ValueError("removal 'drop' removes ViT tokens; only ViT models support it")
        return apply_removal(
            x, keep, self.patch, removal, dataset_mean=self.dataset_mean, generator=self.generator
        )

    def forward(
        self, x: torch.Tensor, keep: torch.Tensor | None = None, removal: str | None = None
    ) -> torch.Tensor:
        if keep is not None:
            self._check_keep(x, keep)
            x = self.remove(x, keep, removal or self.default_removal)
        return self.net(self.normalise(x))


def chunked_logits(
    model: FeatureClassifier,
    x: torch.Tensor,
    keep: torch.Tensor | None = None,
    removal: str | None = None,
    chunk_size: int = 512,
) -> torch.Tensor:
    """Logits of many inputs without building a graph, ``chunk_size`` inputs at a time.

    ``keep`` must be (N, p) like ``x``; it is sliced alongside the inputs.
    """
    if keep is not None and keep.shape[0] != x.shape[0]:
        raise ValueError(f"keep has {keep.shape[0]} rows for {x.shape[0]} inputs")
    options = {} if removal is None else {"removal": removal}
    with torch.no_grad():
        chunks = [
            model(x[i : i + chunk_size], **options)
            if keep is None
            else model(x[i : i + chunk_size], keep=keep[i : i + chunk_size], **options)
            for i in range(0, x.shape[0], chunk_size)
        ]
    if not chunks:
        return torch.empty(0, model.num_classes, device=x.device)
    return torch.cat(chunks)


def class_targets(target, logits: torch.Tensor) -> torch.Tensor:
    """(N,) long: the class each input is explained or scored for — the predicted class (argmax
    of ``logits``) where ``target`` is None; an int applies to every input."""
    if target is None:
        return logits.argmax(dim=1)
    target = torch.as_tensor(target, dtype=torch.long, device=logits.device)
    return target.expand(logits.shape[0]) if target.dim() == 0 else target.reshape(-1)
