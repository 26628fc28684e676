"""Models named by a source instead of a registry entry (a ``models:`` entry's ``source:``):

- ``torchvision:<builder>``: any classification builder of torchvision.models; option ``weights``
  (a weights name such as IMAGENET1K_V1, fetched by the download rule) or ``checkpoint`` (a
  state dict file); the dataset's number of classes, the head replaced when the weights have
  another. ViTs become ``ViTClassifier`` (token dropping, option ``removal``).
- ``hf:<repo or directory>``: an ``AutoModelForSequenceClassification`` encoder, a repo fetched
  by the download rule or a save_pretrained folder.
- ``python:<module>:<function>``: ``function(num_classes=..., **options)`` returns an
  ``nn.Module`` from normalised (N, 3, H, W) images to logits; option ``checkpoint`` as above.

What each can do (modality, removal modes, SMUG) is decided from the source string in
``attrib.catalogue`` before any job starts; here the networks are built.
"""

from __future__ import annotations

import contextlib
import importlib
from pathlib import Path
from typing import Any

import torch
from torch import nn

from attrib.catalogue import HF_ENCODERS, parse_source, source_errors, source_model
from attrib.models.base import FeatureClassifier, ImageClassifier, require_modality
from attrib.resources import hf_dir, torch_home
from attrib.runtime import load_torch_file

AUX_HEADS = ("aux1", "aux2", "AuxLogits")  # googlenet's and inception_v3's training-only heads


def build_source(
    source: str,
    meta: dict[str, Any],
    options: dict[str, Any] | None = None,
    *,
    resources: str | Path | None = None,
    pretrained: bool = True,
) -> FeatureClassifier:
    """The model of a source for a dataset; ``pretrained=False`` builds the architecture only
    (no weights or checkpoint read), as ``load_checkpoint`` needs."""
    errors = source_errors(source, options)
    if errors:
        raise ValueError(f"model source {source}: " + "; ".join(f"{key}: {problem}" for key, problem in errors))
    require_modality(meta, source, source_model(source).modality)
    kind, target = parse_source(source)
    build = {"torchvision": torchvision_model, "hf": hf_model, "python": python_model}[kind]
    return build(target, meta, dict(options or {}), resources=resources, pretrained=pretrained)


# --- torchvision ----------------------------------------------------------------------------------


def torchvision_weights(builder: str, name: str):
    """The weights enum member ``name`` of a builder (e.g. IMAGENET1K_V1, DEFAULT)."""
    from torchvision.models import get_model_weights

    members = get_model_weights(builder)
    try:
        return members[name]
    except KeyError:
        raise ValueError(
            f"torchvision {builder} has no weights {name!r}; known: {[w.name for w in members]}"
        ) from None


def torchvision_weights_path(weights, resources: str | Path) -> Path:
    """Where torchvision (with TORCH_HOME = resources/torch) keeps a weights file."""
    return torch_home(resources) / "hub" / "checkpoints" / Path(weights.url).name


@contextlib.contextmanager
def _hub_dir(directory: Path):
    """torch.hub's folder set to ``directory`` for a builder that loads its weights there."""
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(directory))
    try:
        yield
    finally:
        torch.hub.set_dir(previous)


def classification_head(net: nn.Module) -> tuple[str, nn.Module]:
    """The last Linear or Conv2d: the classifier of every torchvision family (squeezenet's is a
    1x1 convolution)."""
    heads = [(name, m) for name, m in net.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not heads:
        raise ValueError(f"{type(net).__name__} has no Linear or Conv2d layer to classify with")
    return heads[-1]


def replace_head(net: nn.Module, num_classes: int) -> None:
    """A new classifier for ``num_classes`` where the network's has another number of outputs."""
    name, head = classification_head(net)
    bias = head.bias is not None
    if isinstance(head, nn.Linear):
        if head.out_features == num_classes:
            return
        new = nn.Linear(head.in_features, num_classes, bias=bias)
    else:
        if head.out_channels == num_classes:
            return
        new = nn.Conv2d(head.in_channels, num_classes, head.kernel_size, head.stride, head.padding, bias=bias)
    parent, _, child = name.rpartition(".")
    setattr(net.get_submodule(parent), child, new)


def _drop_aux_heads(net: nn.Module) -> None:
    """googlenet and inception_v3 without auxiliary heads: one logits tensor in training too."""
    if hasattr(net, "aux_logits"):
        net.aux_logits = False
        for name in AUX_HEADS:
            if hasattr(net, name):
                setattr(net, name, None)


def _builder_kwargs(builder: str, meta: dict[str, Any], options: dict[str, Any], loads_weights: bool) -> dict:
    """Builder arguments that follow the dataset and options, the same with and without the
    weights so that a checkpoint rebuilds what was trained."""
    if builder.startswith("vit_"):
        return {"image_size": meta["image_size"]}
    if builder in ("googlenet", "inception_v3") and not loads_weights:
        # the input transform that pretrained weights expect; torchvision's own initialisation
        return {"transform_input": "weights" in options, "init_weights": True}
    return {}


def load_state(net: nn.Module, path: str | Path, what: str) -> None:
    """A state dict file (or a dict holding one under ``state_dict``) into ``net``; only the
    classification head may differ in shape (then it stays new: the dataset's classes)."""
    state = load_torch_file(path, what=f"checkpoint of {what}", keys=(),
                            remedy=f"give a state dict saved from {what} (torch.save(net.state_dict(), path))")
    if isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    own = net.state_dict()
    head = classification_head(net)[0] + "."
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    reshaped = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    wrong = missing + unexpected + [k for k in reshaped if not k.startswith(head)]
    if wrong:
        raise ValueError(
            f"{path}: its weights do not fit {what}: {len(missing)} missing (e.g. {missing[:3]}), "
            f"{len(unexpected)} unexpected (e.g. {unexpected[:3]}), other shapes (e.g. "
            f"{[k for k in reshaped if not k.startswith(head)][:3]})"
        )
    net.load_state_dict({k: v for k, v in state.items() if k not in reshaped}, strict=not reshaped)


def torchvision_net(
    builder: str, meta: dict[str, Any], options: dict[str, Any], resources: str | Path | None, pretrained: bool
) -> nn.Module:
    """torchvision's network for the dataset's classes, with the weights or checkpoint of the
    options when ``pretrained``. Weights are read from ``resources`` (never downloaded here)."""
    from torchvision import models as tvm

    source, num_classes = f"torchvision:{builder}", meta["num_classes"]
    loads_weights = pretrained and "weights" in options
    kwargs = _builder_kwargs(builder, meta, options, loads_weights)
    if loads_weights:
        weights = torchvision_weights(builder, options["weights"])
        if resources is None:
            raise ValueError(f"{source} with weights {options['weights']} needs the resources directory holding them")
        path = torchvision_weights_path(weights, resources)
        if not path.is_file():
            raise FileNotFoundError(f"weights {options['weights']} of {source} not found at {path}; the download "
                                    f"rule fetches them (attrib.models.download_weights)")
        try:
            with _hub_dir(path.parent.parent):
                net = tvm.get_model(builder, weights=weights, **kwargs)
        except ValueError as e:  # the position embedding fixes a pretrained ViT's image size
            raise ValueError(f"{source} with weights {options['weights']} does not fit the dataset "
                             f"(image_size {meta['image_size']}): {e}") from e
        _drop_aux_heads(net)
        replace_head(net, num_classes)
    else:
        net = tvm.get_model(builder, weights=None, num_classes=num_classes, **kwargs)
        _drop_aux_heads(net)
    if pretrained and "checkpoint" in options:
        load_state(net, options["checkpoint"], source)
    return net


def torchvision_model(
    builder: str,
    meta: dict[str, Any],
    options: dict[str, Any] | None = None,
    *,
    resources: str | Path | None = None,
    pretrained: bool = True,
) -> ImageClassifier:
    """A torchvision network in the image wrapper; ViTs can drop tokens (option ``removal``)."""
    from attrib.models.vision import ViTClassifier, wrap

    options = dict(options or {})
    removal = options.pop("removal", None)
    net = torchvision_net(builder, meta, options, resources, pretrained)
    if source_model(f"torchvision:{builder}").removal_option:
        return wrap(net, meta, ViTClassifier, default_removal=removal or "black")
    return wrap(net, meta)


# --- Hugging Face ---------------------------------------------------------------------------------


def hf_model(
    target: str,
    meta: dict[str, Any],
    options: dict[str, Any] | None = None,
    *,
    resources: str | Path | None = None,
    pretrained: bool = True,
):
    """A sequence-classification encoder from a local folder or the downloaded snapshot of a
    repo, with the dataset's number of labels (a new head where the snapshot has another)."""
    from attrib.models.text import HFTextClassifier, hf_net

    directory = hf_dir(target, resources)
    if not (directory / "config.json").is_file():
        raise FileNotFoundError(f"hf:{target} not found at {directory}; the download rule fetches it "
                                f"(attrib.models.download_weights)")
    net = hf_net(directory, meta["num_classes"], pretrained)
    if net.config.model_type not in HF_ENCODERS:
        raise ValueError(f"hf:{target} is a {net.config.model_type!r} model, not a text encoder the project drives "
                         f"({', '.join(HF_ENCODERS)})")
    return HFTextClassifier(net, meta)


# --- Python ---------------------------------------------------------------------------------------


def python_model(
    target: str,
    meta: dict[str, Any],
    options: dict[str, Any] | None = None,
    *,
    resources: str | Path | None = None,
    pretrained: bool = True,
) -> ImageClassifier:
    """The user's ``module:function`` called with the dataset's ``num_classes`` and the options
    (but ``checkpoint``, a state dict loaded into what it returns)."""
    from attrib.models.vision import wrap

    module, _, function = target.partition(":")
    options = dict(options or {})
    checkpoint = options.pop("checkpoint", None)
    builder = getattr(importlib.import_module(module), function, None)
    if not callable(builder):
        raise ValueError(f"python:{target}: module {module} has no function {function!r}")
    net = builder(num_classes=meta["num_classes"], **options)
    if not isinstance(net, nn.Module):
        raise TypeError(f"python:{target} returned a {type(net).__name__}, not a torch.nn.Module")
    if pretrained and checkpoint is not None:
        load_state(net, checkpoint, f"python:{target}")
    return wrap(net, meta)
