"""Model registry (name -> builder, as torchvision's), models named by a source, checkpoints.

Every builder has the signature ``builder(meta, options=None, *, resources=None,
pretrained=True)`` and returns a ``FeatureClassifier``; ``meta`` is the dataset's meta.json.
A model's modality and removal modes are in ``attrib.catalogue.MODELS`` (read without torch).
A config entry with ``source:`` (torchvision:, hf:, python:) is built by
``attrib.models.sources`` instead; the paper models are aliases of such sources.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from attrib.catalogue import MODEL_ALIASES, SOURCE_FORMS
from attrib.models.base import FeatureClassifier, ImageClassifier, chunked_logits
from attrib.models.sources import build_source
from attrib.models.text import BertClassifier, HFTextClassifier, TextClassifier, TextCNN, bert, hf_from_config, textcnn
from attrib.models.vision import ViTClassifier, resnet, vit
from attrib.models.weights import download_weights
from attrib.runtime import atomic_save, load_torch_file

__all__ = [
    "MODELS",
    "FeatureClassifier",
    "ImageClassifier",
    "ViTClassifier",
    "TextClassifier",
    "HFTextClassifier",
    "BertClassifier",
    "TextCNN",
    "build_model",
    "chunked_logits",
    "download_weights",
    "load_checkpoint",
    "save_checkpoint",
]


def alias(name: str) -> Callable[..., FeatureClassifier]:
    """The builder of a registered name that is a source with fixed options (MODEL_ALIASES)."""
    source, fixed = MODEL_ALIASES[name]

    def build(meta, options=None, *, resources=None, pretrained=True):
        return build_source(source, meta, {**fixed, **(options or {})}, resources=resources, pretrained=pretrained)

    build.__name__, build.__doc__ = name, f"``{source}`` with options {fixed}."
    return build


MODELS: dict[str, Callable[..., FeatureClassifier]] = {
    "resnet": resnet,
    "vit": vit,
    "resnet50": alias("resnet50"),
    "vit_b_16": alias("vit_b_16"),
    "bert": bert,
    "roberta": alias("roberta"),
    "textcnn": textcnn,
}


def build_model(
    name: str,
    meta: dict[str, Any],
    options: dict[str, Any] | None = None,
    *,
    source: str | None = None,
    resources: str | Path | None = None,
    pretrained: bool = True,
) -> FeatureClassifier:
    """Build a model for a dataset, in eval mode (call ``.train()`` to train it): the
    ``source`` (torchvision:, hf:, python:) where given, else the registered model ``name``.

    ``name``, ``source``, ``options`` and ``meta`` are kept on the model so that a checkpoint
    can rebuild it.
    """
    if source is not None:
        model = build_source(source, meta, options, resources=resources, pretrained=pretrained)
    elif name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {sorted(MODELS)} (or give a source: {SOURCE_FORMS})")
    else:
        model = MODELS[name](meta, options, resources=resources, pretrained=pretrained)
    model.name, model.source, model.options, model.meta = name, source, dict(options or {}), dict(meta)
    return model.eval()


def save_checkpoint(model: FeatureClassifier, path: str | Path, extra: Any = None) -> None:
    """Write architecture, weights and ``extra`` (plain Python / tensors) atomically."""
    if not hasattr(model, "name"):
        raise ValueError("save_checkpoint needs a model made by build_model (it records how to rebuild it)")
    payload = {
        "name": model.name,
        "source": model.source,
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
        model.name, model.source, model.options, model.meta = ckpt["name"], ckpt.get("source"), ckpt["options"], ckpt["meta"]
    else:
        model = build_model(ckpt["name"], ckpt["meta"], ckpt["options"], source=ckpt.get("source"),
                            resources=resources, pretrained=False)
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as e:
        raise ValueError(f"{path}: its weights do not fit model {ckpt['name']!r} ({e})") from e
    return model.eval(), ckpt["extra"]
