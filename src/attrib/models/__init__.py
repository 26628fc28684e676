"""Model registry (name -> builder, as torchvision's) and checkpoints.

Every builder has the signature ``builder(meta, options=None, *, resources=None,
pretrained=True)`` and returns a ``FeatureClassifier``; ``meta`` is the dataset's meta.json.
A model's modality and removal modes are in ``attrib.catalogue.MODELS`` (read without torch).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from attrib.models.base import FeatureClassifier, ImageClassifier, chunked_logits
from attrib.models.text import HFTextClassifier, TextClassifier, TextCNN, bert, hf_from_config, roberta, textcnn
from attrib.models.vision import ViTClassifier, resnet, resnet50, vit, vit_b_16
from attrib.models.weights import download_weights
from attrib.runtime import atomic_save, load_torch_file

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
    atomic_save(payload, path)


def load_checkpoint(path: str | Path, *, resources: str | Path | None = None) -> tuple[FeatureClassifier, Any]:
    """Rebuild a saved model (no pretrained weights needed) in eval mode; returns (model, extra)."""
    ckpt = load_torch_file(path, what="model checkpoint", keys=("name", "options", "meta", "state_dict", "extra"),
                           remedy="rerun the rule that wrote it (finetune) for this dataset, model and λ")
    if "hf_config" in ckpt:
        model = hf_from_config(ckpt["hf_config"], ckpt["meta"])
        model.name, model.options, model.meta = ckpt["name"], ckpt["options"], ckpt["meta"]
    else:
        model = build_model(ckpt["name"], ckpt["meta"], ckpt["options"], resources=resources, pretrained=False)
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as e:
        raise ValueError(f"{path}: its weights do not fit model {ckpt['name']!r} ({e})") from e
    return model.eval(), ckpt["extra"]
