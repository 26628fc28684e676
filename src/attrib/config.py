"""Config validation: a JSON schema first, then names, types and ranges against the registries.

Runs before any job starts, so a typo or a value out of range stops the run with a message
naming the key instead of failing an hour into training. The registries' facts (every option's
default, type and range) come from ``attrib.catalogue``: the Snakefile validates the config on
every parse, which must not import torch. :func:`check_config_files` re-reads the config files
with a YAML loader that refuses duplicated keys, which plain YAML loading resolves silently.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from attrib.catalogue import (
    DATASET_OPTIONS,
    DATASETS,
    INTEGRATION_RULES,
    MASK_METHOD_OPTIONS,
    METHODS,
    MODELS,
    SMUG_OPTIONS,
    SOURCE_FORMS,
    Model,
    configured_model,
    dataset_option_problems,
    method_modalities,
    method_option_problems,
    model_option_problems,
    option_problems,
    parse_order,
    size_of_test_split,
    source_errors,
    source_modality,
    with_defaults,
)

EXPERIMENTS = ("attribution", "mus", "missingness", "smug")


class ConfigError(ValueError):
    """A config that must not start a run; the message names every offending key."""


def key_path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


# --- reading YAML: duplicated keys are errors -----------------------------------------------------

MERGE_TAG = "tag:yaml.org,2002:merge"
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where built: 10x faster


def _load_checked(text, source: str):
    """(content, duplicated-key messages) of a YAML text or open file, parsed once; raises
    yaml.YAMLError on text that is not YAML."""
    loader = SafeLoader(text)
    try:
        root = loader.get_single_node()
        errors: list[str] = []
        visited: set[int] = set()

        def walk(node, path):
            if node is None or id(node) in visited:
                return
            visited.add(id(node))
            if isinstance(node, yaml.SequenceNode):
                for i, item in enumerate(node.value):
                    walk(item, [*path, i])
            elif isinstance(node, yaml.MappingNode):
                first: dict = {}
                for key_node, value_node in node.value:
                    if key_node.tag == MERGE_TAG:
                        continue  # the merged mapping is walked where its anchor is defined
                    key = loader.construct_object(key_node, deep=True)
                    try:
                        hash(key)
                    except TypeError:
                        key = repr(key)
                    line = key_node.start_mark.line + 1
                    if key in first:
                        errors.append(f"config key {key_path([*path, key])}: duplicated in {source} line {line} "
                                      f"(first at line {first[key]}); YAML would keep the last value silently")
                    else:
                        first[key] = line
                    walk(value_node, [*path, key])

        walk(root, [])
        return (None if root is None else loader.construct_document(root)), errors
    finally:
        loader.dispose()


def duplicate_key_errors(text: str, source: str = "<config>") -> list[str]:
    """Every key that a mapping of this YAML text repeats, named by its path and lines.

    Plain YAML loading keeps the last value silently. The ``<<`` merge key of an anchored
    mapping is not a repetition: keys written next to it override the merged ones on purpose.
    Raises yaml.YAMLError on text that is not YAML.
    """
    return _load_checked(text, source)[1]


def load_yaml_strict(path: str | Path):
    """A YAML file's content, refusing duplicated keys (ConfigError naming the key and its
    lines) and YAML syntax errors (ConfigError with the file, line and column)."""
    try:
        with open(path, encoding="utf-8") as stream:  # a stream: YAML's own errors name the file
            content, errors = _load_checked(stream, str(path))
    except yaml.YAMLError as error:
        raise ConfigError(f"invalid configuration file {path}: not valid YAML: {error}") from None
    if errors:
        raise ConfigError(f"invalid configuration file {path}:\n  " + "\n  ".join(errors))
    return content


def check_config_files(paths) -> None:
    """Re-read each config file (e.g. Snakemake's ``workflow.configfiles``) with the strict
    loader; raises ConfigError naming every duplicated key and the file where it repeats.
    (Files given one after another may set the same key: the later overrides, as intended.)"""
    problems = []
    for path in paths:
        try:
            load_yaml_strict(path)
        except ConfigError as error:
            problems.append(str(error))
    if problems:
        raise ConfigError("\n".join(problems))


def load_schema(path: str | Path | None = None) -> dict:
    """The config schema; by default the one shipped inside the package (package data
    ``attrib/config.schema.yaml``), so validation works in an installed package as in a checkout."""
    if path is not None:
        return load_yaml_strict(path)
    with resources.as_file(resources.files("attrib") / "config.schema.yaml") as packaged:
        return load_yaml_strict(packaged)


# --- the schema -----------------------------------------------------------------------------------


def schema_errors(config: dict, schema: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        where = key_path(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            unknown = sorted(set(error.instance) - allowed, key=str)
            messages.append(f"config key {where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
        else:
            messages.append(f"config key {where}: {error.message}")
    return messages


# --- the registries: names, options, and what fits together ---------------------------------------

# Keys of an attribute.methods entry that choose what runs, not options of the method.
METHOD_SELECTORS = ("method", "datasets")


def _at(where: str, problems) -> list[str]:
    """Messages for (key, problem) pairs of the options at ``where`` (key None: ``where`` itself)."""
    return [f"config key {where if key is None else f'{where}.{key}'}: {problem}" for key, problem in problems]


def _runs(config: dict, dataset: str, experiment: str) -> bool:
    return experiment in config["datasets"][dataset].get("experiments", EXPERIMENTS)


def model_facts(config: dict) -> dict[str, Model]:
    """What each entry under ``models:`` can do: its source's facts (docs/your-model.md) or its
    registered model's; entries that are neither are left out (``model_errors`` names them)."""
    facts = {}
    for name, spec in config["models"].items():
        if spec.get("source") is not None and not source_errors(spec["source"], spec.get("options")):
            facts[name] = configured_model(name, spec)
        elif spec.get("source") is None and name in MODELS:
            facts[name] = MODELS[name]
    return facts


def _known(config: dict, name: str) -> bool:
    """A name a dataset, condition or SMUG entry may use: configured or registered."""
    return name in config["models"] or name in MODELS


def _unknown_model(name: str) -> str:
    return f"unknown model {name!r}; known: {sorted(MODELS)}, or an entry under models: with a source: ({SOURCE_FORMS})"


def dataset_tokenizer(config: dict, dataset: str) -> str | None:
    """The model whose tokenizer a text dataset uses: its ``tokenizer:``, else the first of its
    models that has one (an hf: source's own, MiniLM's for bert and textcnn)."""
    spec = config["datasets"][dataset]
    if "tokenizer" in spec:
        return spec["tokenizer"]
    facts = model_facts(config)
    return next((m for m in spec["models"] if m in facts and facts[m].tokenizer), None)


def _image_options(config: dict, dataset: str) -> dict | None:
    """An image dataset's options over the builder's defaults; None for text or invalid ones."""
    spec = config["datasets"][dataset]
    if spec["source"] not in DATASETS or source_modality(spec["source"]) != "image":
        return None
    if dataset_option_problems(spec["source"], spec["options"]):
        return None
    return with_defaults(DATASET_OPTIONS[spec["source"]], spec["options"])


def _model_removal(config: dict, model: str) -> str | None:
    """A model's ``removal`` option (its default removal mode); None if it takes none."""
    options = model_facts(config)[model].options
    if "removal" not in options:
        return None
    return (config["models"].get(model, {}).get("options") or {}).get("removal", options["removal"].default)


def _drop_problem(config: dict, model: str, dataset: str) -> str | None:
    """Why ``drop`` cannot remove this model's features on this dataset (None: it can)."""
    patch = model_facts(config)[model].token_patch
    opts = _image_options(config, dataset)
    if patch is None or opts is None or opts["patch"] == patch:
        return None
    return (f"{model} drops its own {patch} px tokens, so 'drop' needs the feature patch {patch}; dataset "
            f"{dataset!r} has patch {opts['patch']}")


def dataset_errors(config: dict) -> list[str]:
    """Sources, builder options, eval_size against the test split, models, tokenizers."""
    messages = []
    facts = model_facts(config)
    for ds_name, ds in config["datasets"].items():
        where = f"datasets.{ds_name}"
        if ds["source"] not in DATASETS:
            messages.append(f"config key {where}.source: unknown dataset {ds['source']!r}; known: {sorted(DATASETS)}")
            continue
        modality = source_modality(ds["source"])
        problems = dataset_option_problems(ds["source"], ds["options"])
        messages += _at(f"{where}.options", problems)
        if not problems:
            size = size_of_test_split(ds["source"], ds["options"])
            if size is not None and ds["eval_size"] > size:
                messages.append(f"config key {where}.eval_size: {ds['eval_size']} is more than the {size} inputs of "
                                f"the test split (from {where}.options)")
            if ds["options"].get("n_train") == 0:
                for model in ds["models"]:
                    if model in config["models"] and _trains(config, ds_name, model):
                        messages.append(f"config key {where}.options.n_train: 0 training images, but {model} "
                                        f"trains or fine-tunes on {ds_name!r} (epochs > 0 under models.{model})")
        if "download" in ds and ds["source"] != "tweeteval":
            messages.append(f"config key {where}.download: only tweeteval datasets are downloaded; "
                            f"{ds['source']!r} takes no download options")
        for i, model in enumerate(ds["models"]):
            at = f"config key {where}.models[{i}]"
            if not _known(config, model):
                messages.append(f"{at}: {_unknown_model(model)}")
            elif model not in config["models"]:
                messages.append(f"{at}: model {model!r} has no entry under models:")
            elif model not in facts:
                continue  # its entry is wrong: model_errors names it
            elif facts[model].modality != modality:
                messages.append(f"{at}: model {model!r} is for {facts[model].modality} data, dataset {ds_name!r} "
                                f"is {modality}")
            else:
                messages += [f"{at}: {p}" for p in _model_fits_dataset(config, model, ds_name)]
        if modality == "image" and ds.get("tokenizer") is not None:
            messages.append(f"config key {where}.tokenizer: image datasets take no tokenizer")
        elif modality == "text":
            tokenizer = dataset_tokenizer(config, ds_name)
            takers = sorted(n for n, m in {**MODELS, **facts}.items() if m.tokenizer)
            known = facts.get(tokenizer) or (MODELS.get(tokenizer) if tokenizer not in config["models"] else None)
            if known is None or known.tokenizer is None:
                messages.append(f"config key {where}.tokenizer: a text dataset needs the name of the model whose "
                                f"tokenizer it uses (one of {takers}; absent: the first of its models that has one), "
                                f"got {tokenizer!r}")
    return messages


def _trains(config: dict, dataset: str, model: str) -> bool:
    """Whether the model's training or (where MuS runs) λ < 1 fine-tuning reads the train split."""
    spec = config["models"][model]
    finetunes = _runs(config, dataset, "mus") and any(lam < 1 for lam in config["finetune"]["lambdas"])
    return spec["train"]["epochs"] > 0 or (finetunes and spec["finetune"]["epochs"] > 0)


def _model_fits_dataset(config: dict, model: str, dataset: str) -> list[str]:
    """Pretrained ViTs' fixed image size and tokens; pretrained text models' vocabularies."""
    facts = model_facts(config)
    spec = facts[model]
    problems = []
    opts = _image_options(config, dataset)
    if opts is not None and spec.image_size is not None and opts["image_size"] != spec.image_size:
        problems.append(f"{model}'s position embedding is for {spec.image_size} px images; dataset {dataset!r} has "
                        f"image_size {opts['image_size']}")
    if opts is not None and _model_removal(config, model) == "drop":
        problem = _drop_problem(config, model, dataset)
        if problem:
            problems.append(f"models.{model}.options.removal is drop: {problem}")
    tokenizer = dataset_tokenizer(config, dataset)
    given = facts.get(tokenizer) or (MODELS.get(tokenizer) if tokenizer not in config["models"] else None)
    if spec.tokenizer and not spec.own_embeddings and given and given.tokenizer and given.tokenizer != spec.tokenizer:
        problems.append(f"{model} embeds {spec.tokenizer} token ids; dataset {dataset!r} is tokenized by "
                        f"{tokenizer!r} ({given.tokenizer})")
    return problems


def model_errors(config: dict) -> list[str]:
    """Each entry under ``models:``: a source with options it takes, or a registered name."""
    messages = []
    for name, spec in config["models"].items():
        if spec.get("source") is not None:
            messages += [f"config key models.{name}.{key}: {problem}"
                         for key, problem in source_errors(spec["source"], spec.get("options"))]
        elif name not in MODELS:
            messages.append(f"config key models.{name}: unknown model; known: {sorted(MODELS)}, or give it a "
                            f"source: ({SOURCE_FORMS})")
        else:
            messages += _at(f"models.{name}.options", model_option_problems(name, spec.get("options")))
    return messages


def _attributed(config: dict, label: str, dataset: str) -> bool:
    """Whether some experiment of the dataset reads this method's attributions: the attribution
    scores, a missingness order, a MuS-certified registry method, SMUG's comparison."""
    orders = {parse_order(order)[0] for order in config["ablate"]["orders"]}
    uses = {"attribution": True, "missingness": label in orders,
            "mus": label in config["certify"]["methods"] and label not in MASK_METHOD_OPTIONS,
            "smug": label in (config.get("smug") or {}).get("compare", [])}
    return any(used and _runs(config, dataset, experiment) for experiment, used in uses.items())


def method_errors(config: dict) -> list[str]:
    """attribute.methods: registry names, options, the datasets they are restricted to, and
    what every dataset and model where the method runs must support (removal modes; SMUG's CNNs;
    training images for expected gradients' references)."""
    messages = []
    datasets = config["datasets"]
    facts = model_facts(config)
    for label, entry in config["attribute"]["methods"].items():
        where = f"attribute.methods.{label}"
        name = entry.get("method", label)
        if name not in METHODS:
            hint = ""
            if name in INTEGRATION_RULES:
                hint = f" (intgrad's integration rule is set as integration: {name})"
            messages.append(f"config key {where}: unknown method {name!r}; known: {sorted(METHODS)}{hint}")
            continue
        options = {k: v for k, v in entry.items() if k not in METHOD_SELECTORS}
        problems = method_option_problems(name, options)
        messages += _at(where, problems)
        modalities = method_modalities(name)
        for i, ds_name in enumerate(entry.get("datasets", [])):
            if ds_name not in datasets:
                messages.append(f"config key {where}.datasets: unknown dataset {ds_name!r}; configured: "
                                f"{sorted(datasets)}")
                continue
            source = datasets[ds_name]["source"]
            if source in DATASETS and source_modality(source) not in modalities:
                messages.append(f"config key {where}.datasets[{i}]: {name} explains {' and '.join(modalities)} data; "
                                f"dataset {ds_name!r} is {source_modality(source)}, so it would never run there")
        if problems:
            continue
        runs_on = [ds for ds, spec in datasets.items() if spec["source"] in DATASETS
                   and source_modality(spec["source"]) in modalities and ds in entry.get("datasets", [ds])
                   and _attributed(config, label, ds)]
        if "references" in METHODS[name].options:  # the attribute rule draws them from the train split
            for ds in runs_on:
                if datasets[ds]["options"].get("n_train") == 0:
                    messages.append(f"config key {where}: {name} draws its references from the training images; "
                                    f"dataset {ds!r} has n_train 0 (restrict the method with datasets:)")
        pairs = [(ds, m) for ds in runs_on for m in datasets[ds]["models"] if m in facts]
        removal = options.get("removal")
        for ds, model in pairs:
            if removal is not None and removal not in facts[model].removal_modes:
                messages.append(f"config key {where}.removal: model {model!r} (dataset {ds!r}) has no removal mode "
                                f"{removal!r}; it has {list(facts[model].removal_modes)} (restrict the method "
                                f"with datasets:)")
            elif removal == "drop" and _drop_problem(config, model, ds):
                messages.append(f"config key {where}.removal: {_drop_problem(config, model, ds)}")
            if name in ("smug", "smug_base") and not facts[model].smug:
                smug_models = sorted(n for n, m in {**MODELS, **facts}.items() if m.smug)
                messages.append(f"config key {where}: SMUG explains CNNs only ({smug_models}); dataset {ds!r} has "
                                f"{model!r} (restrict the method with datasets:)")
    return messages


def registry_errors(config: dict) -> list[str]:
    """What the schema cannot know: names, options' types and ranges, what fits together."""
    messages = []
    if not config["resources_dir"].strip():
        messages.append("config key resources_dir: must name a folder; an empty one would make the download "
                        "rules write under /")
    messages += dataset_errors(config) + model_errors(config) + method_errors(config)
    return messages + certify_errors(config) + ablate_errors(config) + smug_errors(config)


def ablate_errors(config: dict) -> list[str]:
    """The ablate section: conditions name trained models and their removal modes; orders name
    configured attribution methods; the ordering source is a known model."""
    messages = []
    ablate = config["ablate"]
    used = {m for ds in config["datasets"].values() for m in ds["models"]}
    conditions = [(f"ablate.conditions[{i}]", c) for i, c in enumerate(ablate["conditions"])]
    conditions += [(f"ablate.lime.conditions[{i}]", c) for i, c in enumerate(ablate["lime"]["conditions"])]
    facts = model_facts(config)
    for where, condition in conditions:
        model, removal = condition.split(":")
        if not _known(config, model):
            messages.append(f"config key {where}: {_unknown_model(model)}")
        elif model not in used:
            messages.append(f"config key {where}: model {model!r} is not trained on any dataset")
        elif model not in facts:
            continue  # its entry is wrong: model_errors names it
        elif removal not in facts[model].removal_modes:
            messages.append(f"config key {where}: model {model!r} has no removal mode {removal!r}; "
                            f"its modes: {list(facts[model].removal_modes)}")
        elif where.startswith("ablate.lime") and facts[model].modality != "image":
            messages.append(f"config key {where}: the LIME top-K test is for image models, {model!r} is not one")
        elif removal == "drop":
            messages += [f"config key {where}: {_drop_problem(config, model, ds)}" for ds in _ablated(config, model)
                         if _drop_problem(config, model, ds)]
    if "drop" in ablate["removal_modes"]:
        i = ablate["removal_modes"].index("drop")
        messages += [f"config key ablate.removal_modes[{i}]: {_drop_problem(config, model, ds)}"
                     for model in sorted(used & set(facts)) for ds in _ablated(config, model)
                     if _drop_problem(config, model, ds)]
    methods = config["attribute"]["methods"]
    for i, order in enumerate(ablate["orders"]):
        method, _ = parse_order(order)
        if method is not None and method not in methods:
            messages.append(
                f"config key ablate.orders[{i}]: order {order!r} needs the method {method!r} under "
                f"attribute.methods (known: random, {', '.join(sorted(methods))}, each with _reverse)"
            )
    source = ablate["ordering_source"]
    if source not in ("first", "own") and not _known(config, source):
        messages.append(
            f"config key ablate.ordering_source: {source!r} is neither first, own nor a model; "
            f"known: {sorted(set(MODELS) | set(config['models']))}"
        )
    return messages


def _ablated(config: dict, model: str) -> list[str]:
    """The datasets whose missingness stage ablates this model."""
    return [ds for ds, spec in config["datasets"].items()
            if model in spec["models"] and _runs(config, ds, "missingness")]


def certify_errors(config: dict) -> list[str]:
    """MuS experiment names: methods and their options, the attacked method and λs, datasets of
    the sample sizes."""
    spec, messages = config["certify"], []
    known = sorted(MASK_METHOD_OPTIONS) + sorted(config["attribute"]["methods"])
    for method, options in spec["methods"].items():
        where = f"certify.methods.{method}"
        if method not in known:
            messages.append(f"config key {where}: unknown method; known: {known} "
                            "(MuS mask methods and attribute.methods labels)")
        elif method in MASK_METHOD_OPTIONS:
            messages += _at(where, option_problems(MASK_METHOD_OPTIONS[method], options))
        elif options:
            messages.append(f"config key {where}: the options of attribute.methods labels are set under "
                            f"attribute.methods.{method}; here it takes none, got {sorted(options)}")
    attack = spec["attack"]
    if attack["method"] not in spec["methods"]:
        messages.append(f"config key certify.attack.method: {attack['method']!r} is not in certify.methods")
    if attack["top_fraction"] not in spec["top_fractions"]:
        messages.append(f"config key certify.attack.top_fraction: {attack['top_fraction']} is not in "
                        "certify.top_fractions (the E1 figure draws its certified curve beside the attack's)")
    for i, lam in enumerate(attack.get("lambdas", spec["lambdas"])):
        where = f"certify.attack.lambdas[{i}]" if "lambdas" in attack else f"certify.lambdas[{i}]"
        if lam not in spec["lambdas"]:
            messages.append(f"config key {where}: {lam} is not in certify.lambdas")
        elif round(lam * attack["q"], 9) < 1:
            messages.append(f"config key {where}: λ = {lam} is below 1/q = 1/{attack['q']} of certify.attack.q")
    for i, lam in enumerate(spec["lambdas"]):
        if not any(t >= lam for t in config["finetune"]["lambdas"]):
            messages.append(f"config key certify.lambdas[{i}]: no fine-tuned λ ≥ {lam} in finetune.lambdas")
        elif round(lam * spec["q"], 9) < 1:
            messages.append(f"config key certify.lambdas[{i}]: λ = {lam} is below 1/q = 1/{spec['q']}")
    for where, sizes in (("samples", spec["samples"]), ("sparsity.samples", spec["sparsity"]["samples"]),
                         ("attack.samples", spec["attack"]["samples"])):
        for name in sizes:
            if name not in config["datasets"]:
                messages.append(f"config key certify.{where}.{name}: no such dataset; "
                                f"known: {sorted(config['datasets'])}")
    return messages


def smug_errors(config: dict) -> list[str]:
    """Problems of the ``smug:`` section that its schema cannot see."""
    section = config.get("smug")
    if not section:
        return []
    messages = []
    used = {m for ds in config["datasets"].values() for m in ds["models"]}
    facts = model_facts(config)
    for name, options in section["models"].items():
        where = f"smug.models.{name}"
        if not _known(config, name):
            messages.append(f"config key {where}: {_unknown_model(name)}")
        elif name not in used:
            messages.append(f"config key {where}: model {name!r} is not trained on any dataset")
        elif name in facts and not facts[name].smug:
            source = config["models"][name].get("source")
            messages.append(f"config key {where}: SMUG explains CNNs only, whose first layer is a plain convolution "
                            f"(+ batch norm) followed by a ReLU: {sorted(n for n, m in {**MODELS, **facts}.items() if m.smug)}"
                            " and the torchvision families with smug in attrib.catalogue.TORCHVISION_FAMILIES (resnet*, "
                            f"vgg*, densenet*, ...); {name!r}{f' ({source})' if source else ''} is not one")
        problems = option_problems(SMUG_OPTIONS, options)
        messages += _at(where, problems)
        model_options = config["models"].get(name, {}).get("options") or {}
        if name == "textcnn" and "source" not in config["models"].get(name, {}) and not problems and not model_option_problems(name, model_options):
            top_k = with_defaults(SMUG_OPTIONS, options)["top_k"]
            channels = with_defaults(MODELS[name].options, model_options)["channels"]
            if top_k > channels:
                messages.append(
                    f"config key {where}.top_k: {top_k} exceeds the {channels} channels of textcnn "
                    "(models.textcnn.options.channels); it max-pools over positions, so at most one first-layer "
                    "neuron per channel has non-zero integrated gradients and the rest would be chosen in tie order"
                )
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
