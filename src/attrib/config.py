"""Config validation: a JSON schema first, then the names against the package registries.

Runs before any job starts, so a typo stops the run with a message naming the key instead
of failing an hour into training. The registries' facts come from ``attrib.catalogue``: the
Snakefile validates the config on every parse, which must not import torch.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from attrib.catalogue import (
    DATASETS,
    MASK_METHODS,
    METHODS,
    MODELS,
    SMUG_BACKENDS,
    SMUG_DEFAULTS,
    dataset_option_errors,
    model_modality,
    model_option_errors,
    parse_order,
    source_modality,
    supports_removal,
)

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A config that must not start a run; the message names every offending key."""


def key_path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def load_schema(path: str | Path | None = None) -> dict:
    """The config schema; by default the one shipped inside the package (package data
    ``attrib/config.schema.yaml``), so validation works in an installed package as in a checkout."""
    schema = resources.files("attrib").joinpath("config.schema.yaml") if path is None else Path(path)
    with schema.open() as fh:
        return yaml.safe_load(fh)


def schema_errors(config: dict, schema: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        where = key_path(error.absolute_path)
        if error.validator == "additionalProperties" and error.instance is not None:
            allowed = set(error.schema.get("properties", {}))
            unknown = sorted(set(error.instance) - allowed)
            messages.append(f"config key {where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
        else:
            messages.append(f"config key {where}: {error.message}")
    return messages


# Keys of an attribute.methods entry that choose what runs, not options of the method.
METHOD_SELECTORS = ("method", "datasets")


def registry_errors(config: dict) -> list[str]:
    """Names that the schema cannot know: datasets, models, methods, removal modes."""
    messages = []
    for ds_name, ds in config["datasets"].items():
        if ds["source"] not in DATASETS:
            messages.append(
                f"config key datasets.{ds_name}.source: unknown dataset {ds['source']!r}; known: {sorted(DATASETS)}"
            )
            continue
        modality = source_modality(ds["source"])
        options = dict(ds["options"])
        if ds["source"] == "tweeteval":
            options.setdefault("raw_dir", "<set by the download rule>")
        for problem in dataset_option_errors(ds["source"], options):
            messages.append(f"config key datasets.{ds_name}.options: {problem}")
        for i, model in enumerate(ds["models"]):
            where = f"datasets.{ds_name}.models[{i}]"
            if model not in MODELS:
                messages.append(f"config key {where}: unknown model {model!r}; known: {sorted(MODELS)}")
            elif model not in config["models"]:
                messages.append(f"config key {where}: model {model!r} has no entry under models:")
            elif model_modality(model) != modality:
                messages.append(
                    f"config key {where}: model {model!r} is for {model_modality(model)} data, "
                    f"dataset {ds_name!r} is {modality}"
                )
        if modality == "text" and ds.get("tokenizer") not in MODELS:
            messages.append(
                f"config key datasets.{ds_name}.tokenizer: a text dataset needs the name of the model "
                f"whose tokenizer it uses, got {ds.get('tokenizer')!r}"
            )
    for name, spec in config["models"].items():
        if name not in MODELS:
            messages.append(f"config key models.{name}: unknown model; known: {sorted(MODELS)}")
            continue
        for problem in model_option_errors(name, spec.get("options")):
            messages.append(f"config key models.{name}.options: {problem}")
    for label, options in config["attribute"]["methods"].items():
        name = options.get("method", label)
        if name not in METHODS:
            messages.append(
                f"config key attribute.methods.{label}: unknown method {name!r}; known: {sorted(METHODS)}"
            )
            continue
        unknown = set(options) - set(METHOD_SELECTORS) - set(METHODS[name].options)
        if unknown:
            messages.append(
                f"config key attribute.methods.{label}: {name} has no options {sorted(unknown)}; "
                f"it takes {sorted(METHODS[name].options)}"
            )
        for ds_name in options.get("datasets", []):
            if ds_name not in config["datasets"]:
                messages.append(
                    f"config key attribute.methods.{label}.datasets: unknown dataset {ds_name!r}; "
                    f"configured: {sorted(config['datasets'])}"
                )
    return messages + certify_errors(config) + ablate_errors(config) + smug_errors(config)


def ablate_errors(config: dict) -> list[str]:
    """The ablate section: conditions name trained models and their removal modes; orders name
    configured attribution methods; the ordering source is a known model."""
    messages = []
    ablate = config["ablate"]
    used = {m for ds in config["datasets"].values() for m in ds["models"]}
    conditions = [(f"ablate.conditions[{i}]", c) for i, c in enumerate(ablate["conditions"])]
    conditions += [(f"ablate.lime.conditions[{i}]", c) for i, c in enumerate(ablate["lime"]["conditions"])]
    for where, condition in conditions:
        model, removal = condition.split(":")
        if model not in MODELS:
            messages.append(f"config key {where}: unknown model {model!r}; known: {sorted(MODELS)}")
        elif model not in used:
            messages.append(f"config key {where}: model {model!r} is not trained on any dataset")
        elif not supports_removal(model, removal):
            messages.append(f"config key {where}: model {model!r} has no removal mode {removal!r}")
        elif where.startswith("ablate.lime") and model_modality(model) != "image":
            messages.append(f"config key {where}: the LIME top-K test is for image models, {model!r} is not one")
    methods = config["attribute"]["methods"]
    for i, order in enumerate(ablate["orders"]):
        method, _ = parse_order(order)
        if method is not None and method not in methods:
            messages.append(
                f"config key ablate.orders[{i}]: order {order!r} needs the method {method!r} under "
                f"attribute.methods (known: random, {', '.join(sorted(methods))}, each with _reverse)"
            )
    source = ablate["ordering_source"]
    if source not in ("first", "own") and source not in MODELS:
        messages.append(
            f"config key ablate.ordering_source: {source!r} is neither first, own nor a model; known: {sorted(MODELS)}"
        )
    return messages


def certify_errors(config: dict) -> list[str]:
    """MuS experiment names: methods, the attacked method and λs, datasets of the sample sizes."""
    spec, messages = config["certify"], []
    known = sorted(MASK_METHODS) + sorted(config["attribute"]["methods"])
    for method in spec["methods"]:
        if method not in known:
            messages.append(f"config key certify.methods.{method}: unknown method; known: {known} "
                            "(MuS mask methods and attribute.methods labels)")
        elif method in MASK_METHODS:
            unknown = sorted(set(spec["methods"][method]) - set(MASK_METHODS[method]))
            if unknown:
                messages.append(f"config key certify.methods.{method}: unknown option(s) {unknown}; "
                                f"known: {sorted(MASK_METHODS[method])}")
    if spec["attack"]["method"] not in spec["methods"]:
        messages.append(f"config key certify.attack.method: {spec['attack']['method']!r} is not in certify.methods")
    for i, lam in enumerate(spec["attack"].get("lambdas", [])):
        if lam not in spec["lambdas"]:
            messages.append(f"config key certify.attack.lambdas[{i}]: {lam} is not in certify.lambdas")
    for i, lam in enumerate(spec["lambdas"]):
        if not any(t >= lam for t in config["finetune"]["lambdas"]):
            messages.append(f"config key certify.lambdas[{i}]: no fine-tuned λ ≥ {lam} in finetune.lambdas")
        elif round(lam * spec["q"], 9) < 1:
            messages.append(f"config key certify.lambdas[{i}]: λ = {lam} is below 1/q = 1/{spec['q']}")
    for where, sizes in (("samples", spec["samples"]), ("sparsity.samples", spec["sparsity"]["samples"]),
                         ("attack.samples", spec["attack"]["samples"])):
        for name in sizes:
            if name not in config["datasets"]:
                messages.append(f"config key certify.{where}.{name}: no such dataset; known: {sorted(config['datasets'])}")
    return messages


def smug_errors(config: dict) -> list[str]:
    """Problems of the ``smug:`` section that its schema cannot see."""
    section = config.get("smug")
    if not section:
        return []
    messages = []
    used = {m for ds in config["datasets"].values() for m in ds["models"]}
    for name, options in section["models"].items():
        where = f"config key smug.models.{name}"
        if name not in MODELS:
            messages.append(f"{where}: unknown model; known: {sorted(MODELS)}")
        elif name not in used:
            messages.append(f"{where}: model {name!r} is not trained on any dataset")
        unknown = sorted(set(options) - set(SMUG_DEFAULTS))
        if unknown:
            messages.append(f"{where}: unknown option(s) {unknown}; known: {sorted(SMUG_DEFAULTS)}")
        if options.get("backend", SMUG_DEFAULTS["backend"]) not in SMUG_BACKENDS:
            messages.append(f"{where}.backend: {options['backend']!r} is not one of {list(SMUG_BACKENDS)}")
        if not 0 <= float(options.get("gamma", 0.0)) < 1:
            messages.append(f"{where}.gamma: must lie in [0, 1), got {options['gamma']}")
    for i, label in enumerate(section["compare"]):
        if label not in config["attribute"]["methods"]:
            messages.append(f"config key smug.compare[{i}]: {label!r} is not a label under attribute.methods")
    return messages


def validate_config(config: dict, schema: dict | None = None) -> dict:
    """Return the config unchanged, or raise ConfigError listing every problem."""
    messages = schema_errors(config, schema or load_schema())
    if not messages:
        messages = registry_errors(config)
    if messages:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(messages))
    return config


def lambda_label(lam: float) -> str:
    """How a keep-probability appears in file names: 1, 0.5, 0.25, 0.125."""
    return f"{float(lam):g}"
