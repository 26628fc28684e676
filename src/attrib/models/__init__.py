"""Model registry (name -> builder, as torchvision's) and checkpoints.

Every builder has the signature ``builder(meta, options=None, *, resources=None,
pretrained=True)`` and returns a ``FeatureClassifier``; ``meta`` is the dataset's meta.json.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import torch

from attrib.features import IMAGE_REMOVAL_MODES, PIXEL_REMOVAL_MODES
from attrib.models.base import FeatureClassifier, ImageClassifier, chunked_logits
from attrib.models.text import HFTextClassifier, TextClassifier, TextCNN, bert, hf_from_config, roberta, textcnn
from attrib.models.vision import ViTClassifier, resnet, resnet50, vit, vit_b_16
from attrib.models.weights import download_weights

__all__ = [
    "MODELS",
    "FeatureClassifier",
    "ImageClassifier",
    "ViTClassifier",
    "TextClassifier",
    "HFTextClassifier",
    "TextCNN",
    "build_model",
    "chunked_logits",
    "download_weights",
    "load_checkpoint",
    "model_modality",
    "model_option_errors",
    "supports_removal",
    "save_checkpoint",
]

MODELS: dict[str, Callable[..., FeatureClassifier]] = {
    "resnet": resnet,
    "vit": vit,
    "resnet50": resnet50,
    "vit_b_16": vit_b_16,
    "bert": bert,
    "roberta": roberta,
    "textcnn": textcnn,
}

MODALITY = {"resnet": "image", "vit": "image", "resnet50": "image", "vit_b_16": "image",
            "bert": "text", "roberta": "text", "textcnn": "text"}
TOKEN_DROPPING = {"vit", "vit_b_16"}
TOKEN_DELETING = {"bert", "roberta"}  # attention models: ``delete`` masks tokens out of attention


def model_modality(name: str) -> str:
    """"image" or "text", known before any weights are built (for config validation)."""
    return MODALITY[name]


def supports_removal(name: str, removal: str) -> bool:
    """Whether ``model(x, keep=..., removal=removal)`` is defined for this model."""
    if MODALITY[name] == "text":
        return removal == "mask_token" or (removal == "delete" and name in TOKEN_DELETING)
    return removal in PIXEL_REMOVAL_MODES or (removal == "drop" and name in TOKEN_DROPPING)


def model_option_errors(name: str, options: dict[str, Any] | None) -> list[str]:
    """Problems with a model's ``removal`` option, found before anything is built (config
    validation); only the ViTs take one, and its value must be a removal mode they support."""
    options = options or {}
    if "removal" not in options:
        return []
    removal = options["removal"]
    if name not in TOKEN_DROPPING:
        return [f"model {name!r} has no option 'removal' (only {sorted(TOKEN_DROPPING)} take one)"]
    if not isinstance(removal, str) or not supports_removal(name, removal):
        return [f"removal {removal!r} is not a removal mode of {name!r}; expected one of {IMAGE_REMOVAL_MODES}"]
    return []


def build_model(
    name: str,
    meta: dict[str, Any],
    options: dict[str, Any] | None = None,
    *,
    resources: str | Path | None = None,
    pretrained: bool = True,
) -> FeatureClassifier:
    """Build a registered model for a dataset, in eval mode (call ``.train()`` to train it).

    ``name``, ``options`` and ``meta`` are kept on the model so that a checkpoint can rebuild it.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {sorted(MODELS)}")
    model = MODELS[name](meta, options, resources=resources, pretrained=pretrained)
    model.name, model.options, model.meta = name, dict(options or {}), dict(meta)
    return model.eval()


def save_checkpoint(model: FeatureClassifier, path: str | Path, extra: Any = None) -> None:
    """Write architecture, weights and ``extra`` (plain Python / tensors) atomically."""
    if not hasattr(model, "name"):
        raise ValueError("save_checkpoint needs a model made by build_model (it records how to rebuild it)")
    payload = {
        "name": model.name,
        "options": model.options,
        "meta": model.meta,
        "state_dict": model.state_dict(),
        "extra": extra,
    }
    if isinstance(model, HFTextClassifier):  # rebuilding then needs no model directory
        payload["hf_config"] = model.net.config.to_dict()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, *, resources: str | Path | None = None) -> tuple[FeatureClassifier, Any]:
    """Rebuild a saved model (no pretrained weights needed) in eval mode; returns (model, extra)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if "hf_config" in ckpt:
        model = hf_from_config(ckpt["hf_config"], ckpt["meta"])
        model.name, model.options, model.meta = ckpt["name"], ckpt["options"], ckpt["meta"]
    else:
        model = build_model(ckpt["name"], ckpt["meta"], ckpt["options"], resources=resources, pretrained=False)
    model.load_state_dict(ckpt["state_dict"])
    return model.eval(), ckpt["extra"]
