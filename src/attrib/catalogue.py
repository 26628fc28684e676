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

from dataclasses import dataclass

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


MODELS = {
    "resnet": Model("image", PIXEL_REMOVAL_MODES),
    "vit": Model("image", IMAGE_REMOVAL_MODES, removal_option=True),
    "resnet50": Model("image", PIXEL_REMOVAL_MODES),
    "vit_b_16": Model("image", IMAGE_REMOVAL_MODES, removal_option=True),
    "bert": Model("text", TEXT_REMOVAL_MODES),
    "roberta": Model("text", TEXT_REMOVAL_MODES),
    "textcnn": Model("text", ("mask_token",)),
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
