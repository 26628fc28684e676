"""The catalogue: parsing the workflow reads it without torch, and it agrees with the registries."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Libraries that the jobs need and the Snakefile must not load: every SLURM job parses the
# Snakefile twice. (pandas and numpy are not here: snakemake itself imports them.)
HEAVY_LIBRARIES = ("torch", "captum", "torchvision", "transformers", "sklearn", "skimage", "scipy",
                   "matplotlib", "seaborn")

DRY_RUN_AND_LIST_IMPORTS = """
import json, sys
from snakemake.cli import main

sys.argv = ["snakemake", "-s", sys.argv[1], "-n", "--quiet", "--cores", "1", *sys.argv[3:]]
code = 0
try:
    main()
except SystemExit as exit:
    code = exit.code
print(json.dumps({"exit": code, "heavy": [m for m in HEAVY if m in sys.modules]}))
"""


def parse_workflow(cwd, *args):
    """Dry-run the Snakefile in a fresh interpreter; its exit code and the heavy libraries loaded."""
    code = f"HEAVY = {HEAVY_LIBRARIES!r}\n" + DRY_RUN_AND_LIST_IMPORTS
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "Snakefile"), "--", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_parsing_the_workflow_loads_no_heavy_library(tmp_path):
    for args in ((), ("--configfile", str(ROOT / "tests" / "tiny.yaml"))):
        result = parse_workflow(tmp_path, *args)
        assert result["exit"] == 0, args
        assert result["heavy"] == [], f"parsing the Snakefile {' '.join(args)} imported {result['heavy']}"


# --- the catalogue agrees with the registries -----------------------------------------------------


def test_registries_and_catalogue_list_the_same_names():
    from attrib import catalogue
    from attrib.attribution import METHODS
    from attrib.data import DATASETS
    from attrib.models import MODELS

    for kind, registry, catalogued in (("METHODS", METHODS, catalogue.METHODS), ("MODELS", MODELS, catalogue.MODELS),
                                       ("DATASETS", DATASETS, catalogue.DATASETS)):
        uncatalogued = sorted(set(registry) - set(catalogued))
        unregistered = sorted(set(catalogued) - set(registry))
        assert not uncatalogued, f"{uncatalogued} registered but not in attrib.catalogue.{kind}: add their entries"
        assert not unregistered, f"{unregistered} in attrib.catalogue.{kind} but not registered: remove them"


def _agrees(declared: dict, actual: dict, where: str) -> None:
    """Declared options (attrib.catalogue.Option) against a registry's real defaults: the same
    names, equal defaults of the same type, and each default inside its declared type and range."""
    from attrib.catalogue import REQUIRED

    assert set(declared) == set(actual), (
        f"{where}: the catalogue declares {sorted(declared)}, the code takes {sorted(actual)}")
    for key, option in declared.items():
        real = actual[key]
        if option.kind == "rule":
            continue  # the workflow passes it, whatever the code's default
        assert option.default == real and type(option.default) is type(real) or (
            isinstance(real, (list, tuple)) and list(option.default) == list(real)), (
            f"{where}.{key}: the catalogue's default is {option.default!r}, the code's {real!r}")
        if option.default is not REQUIRED:
            assert option.accepts(real), f"{where}.{key}: the default {real!r} is not {option.describe()}"


def test_method_options_are_the_registered_defaults():
    from attrib import catalogue
    from attrib.attribution import METHODS

    for name, method in METHODS.items():
        _agrees(catalogue.METHODS[name].options, dict(method.defaults), f"attrib.catalogue.METHODS[{name!r}] vs {method.__name__}")


def test_declared_choices_are_what_the_code_accepts():
    import captum.attr
    from captum.attr._utils.approximation_methods import SUPPORTED_METHODS, approximation_parameters

    from attrib import catalogue
    from attrib.attribution.path import OBJECTIVES
    from attrib.smug import symbolic

    methods = catalogue.METHODS
    assert set(methods["intgrad"].options["integration"].choices) == set(SUPPORTED_METHODS)
    for rule in SUPPORTED_METHODS:  # the catalogue refuses n_steps 1 exactly where captum fails on it
        step_sizes, _ = approximation_parameters(rule)
        try:
            step_sizes(1)
            one_step = True
        except AssertionError:
            one_step = False
        assert one_step == (not rule.startswith("riemann")), rule
    nt_types = {t.name for t in captum.attr._core.noise_tunnel.NoiseTunnelType}
    assert set(methods["smoothgrad"].options["nt_type"].choices) == nt_types
    assert set(methods["intgrad_path"].options["objective"].choices) == set(OBJECTIVES)
    assert set(methods["lime"].options["removal"].choices) == set(catalogue.IMAGE_REMOVAL_MODES
                                                                  + catalogue.TEXT_REMOVAL_MODES)
    assert catalogue.SMUG_NEURON_SCORES == symbolic.NEURON_SCORES


def _keyword_defaults(function, skip=()) -> dict:
    import inspect

    return {k: p.default for k, p in inspect.signature(function).parameters.items()
            if p.kind is p.KEYWORD_ONLY and k not in skip}


def _annotation_fits(annotation, option) -> bool:
    """A builder's annotation (a string: the modules use postponed annotations) and the declared kind."""
    kinds = {"int": ("int",), "float": ("number",), "str": ("string", "choice"), "bool": ("bool",)}
    names = [part.strip() for part in str(annotation).split("|")]
    nullable = "None" in names
    names = [n for n in names if n != "None"]
    return len(names) == 1 and option.kind in kinds.get(names[0], ()) and (not nullable or option.nullable)


def test_smug_options_are_the_solver_s_keywords():
    """SMUG merges its options over catalogue.SMUG_DEFAULTS; the functions that take them agree
    on the names, and where they have defaults of their own, on the defaults and types."""
    import inspect

    from attrib import catalogue
    from attrib.smug import symbolic

    declared = catalogue.SMUG_OPTIONS
    assert set(declared) == set(symbolic.ENCODE_OPTIONS + symbolic.SOLVE_OPTIONS)
    own = {**_keyword_defaults(symbolic.solve),
           "backend": inspect.signature(symbolic.solve).parameters["backend"].default,
           "combine": inspect.signature(symbolic.paint).parameters["combine"].default,
           "scores": _keyword_defaults(symbolic.neuron_scores)["method"],
           "n_steps": _keyword_defaults(symbolic.neuron_scores)["n_steps"]}
    _agrees({k: declared[k] for k in own}, own, "attrib.catalogue.SMUG_OPTIONS vs attrib.smug.symbolic")
    annotations = {**{k: p.annotation for k, p in inspect.signature(symbolic.solve).parameters.items()},
                   "combine": inspect.signature(symbolic.paint).parameters["combine"].annotation,
                   "window": inspect.signature(symbolic.mask_variables).parameters["window"].annotation,
                   **{k: p.annotation for k, p in inspect.signature(symbolic.encode).parameters.items()
                      if k in ("top_k", "gamma")}}
    for key, option in declared.items():
        if key in annotations:
            assert _annotation_fits(annotations[key], option), (key, annotations[key], option.kind)


def test_mask_method_options_are_the_explainers_keywords():
    from attrib import catalogue
    from attrib.mus import explain as mus_explain

    assert set(catalogue.MASK_METHOD_OPTIONS) == set(mus_explain.EXPLAINERS)
    for name, explainer in mus_explain.EXPLAINERS.items():
        actual = _keyword_defaults(explainer, skip=("chunk_size", "seed", "feature_mask"))
        _agrees(catalogue.MASK_METHOD_OPTIONS[name], actual, f"attrib.catalogue.MASK_METHOD_OPTIONS[{name!r}]")


def test_model_options_are_the_builders_defaults():
    from attrib import catalogue
    from attrib.models import text, vision

    removal = {"removal": vision.VIT_REMOVAL_DEFAULT}
    actual = {"resnet": vision.RESNET_DEFAULTS, "vit": {**vision.VIT_DEFAULTS, **removal}, "resnet50": {},
              "vit_b_16": removal, "bert": {}, "roberta": {}, "textcnn": text.TEXTCNN_DEFAULTS}
    assert set(actual) == set(catalogue.MODELS)
    for name, entry in catalogue.MODELS.items():
        _agrees(entry.options, actual[name], f"attrib.catalogue.MODELS[{name!r}].options")


def test_methods_run_on_text_exactly_where_the_catalogue_says():
    import torch
    from helpers import TextStub
    from test_models import TEXT_META, token_ids

    from attrib import catalogue
    from attrib.attribution import build_method
    from attrib.models import build_model

    ids = torch.tensor([[3, 5, 7, 9, 0, 0], [4, 4, 11, 2, 1, 0]])
    small = {"smoothgrad": {"nt_samples": 2}, "gradshap": {"n_samples": 2}, "lime": {"n_samples": 8},
             "kernelshap": {"n_samples": 8}, "smug_base": {"top_k": 10, "n_steps": 4},
             "smug": {"top_k": 10, "n_steps": 4}}
    torch.manual_seed(0)
    textcnn = build_model("textcnn", TEXT_META, {"dim": 8, "channels": 8})  # SMUG explains CNNs only
    for name, entry in catalogue.METHODS.items():
        model, x = (textcnn, token_ids(2)) if name.startswith("smug") else (TextStub(), ids)
        try:
            got = build_method(name, model, **small.get(name, {})).attribute(x)
        except NotImplementedError:
            assert "text" not in entry.modalities, f"{name} has no text version; attrib.catalogue.METHODS says it has"
            continue
        assert "text" in entry.modalities, f"{name} explains text; add it to its attrib.catalogue.METHODS modalities"
        assert got.map is None and got.features.shape == x.shape, name
        assert torch.isfinite(got.features).all() and (got.features[~model.feature_mask(x)] == 0).all(), name


def test_models_have_the_catalogued_modality_and_removal_modes(tmp_path):
    import torch
    from test_models import TEXT_META, token_ids
    from transformers import RobertaConfig

    from attrib import catalogue, smug
    from attrib.models import build_model
    from attrib.models.sources import torchvision_weights
    from attrib.resources import hf_dir, tokenizer_dir

    # a tiny roberta snapshot with MiniLM's vocabulary size and padding id, as TEXT_META says
    RobertaConfig(vocab_size=TEXT_META["vocab_size"], hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                  intermediate_size=8, max_position_embeddings=40, pad_token_id=TEXT_META["pad_id"],
                  ).save_pretrained(hf_dir(catalogue.MODEL_ALIASES["roberta"][0].removeprefix("hf:"), tmp_path))
    image_meta = {"modality": "image", "num_classes": 3, "image_size": 32, "patch": 16, "mean": [0.5, 0.5, 0.5]}
    metas = {"image": image_meta, "text": TEXT_META}
    inputs = {"image": torch.rand(2, 3, 32, 32), "text": token_ids(2)}
    every_mode = catalogue.IMAGE_REMOVAL_MODES + catalogue.TEXT_REMOVAL_MODES
    for name, entry in catalogue.MODELS.items():
        torch.manual_seed(0)
        model = build_model(name, metas[entry.modality], resources=tmp_path, pretrained=False)
        assert model.modality == entry.modality, f"{name} is a {model.modality} model; the catalogue says {entry}"
        x = inputs[entry.modality]
        keep = torch.ones(2, model.num_features(x))
        keep[:, 0] = 0
        defined = []
        for removal in every_mode:
            try:
                with torch.no_grad():
                    model(x, keep=keep, removal=removal)
                defined.append(removal)
            except ValueError:
                pass
        assert tuple(defined) == entry.removal_modes, (
            f"{name} removes features by {defined}; attrib.catalogue.MODELS says {entry.removal_modes}")
        takes_removal = True
        try:
            build_model(name, metas[entry.modality], {"removal": entry.removal_modes[-1]}, resources=tmp_path,
                        pretrained=False)
        except ValueError:
            takes_removal = False
        assert takes_removal == entry.removal_option, (
            f"{name} {'takes' if takes_removal else 'does not take'} a removal option; the catalogue says {entry}")
        with pytest.raises(ValueError, match="is for"):  # the builders check the catalogued modality
            build_model(name, {**metas[entry.modality], "modality": "audio"}, resources=tmp_path, pretrained=False)
        model.eval()
        try:
            smug.first_layer(model)
            explained = True
        except ValueError:
            explained = False
        assert explained == entry.smug, (
            f"SMUG {'explains' if explained else 'cannot explain'} {name}; the catalogue says {entry}")
        if entry.token_patch is not None:
            assert model.net.patch_size == entry.token_patch, name
        if entry.image_size is not None:  # a pretrained ViT: an alias of a torchvision source with weights
            source, options = catalogue.MODEL_ALIASES[name]
            weights = torchvision_weights(source.removeprefix("torchvision:"), options["weights"])
            assert weights.meta["min_size"] == (entry.image_size, entry.image_size), name
    # text models: naming one as a dataset's tokenizer selects the tokenizer the catalogue says
    text_models = [n for n, m in catalogue.MODELS.items() if m.modality == "text"]
    for a in text_models:
        for b in text_models:
            same = (tokenizer_dir(catalogue.MODELS[a].tokenizer, tmp_path)
                    == tokenizer_dir(catalogue.MODELS[b].tokenizer, tmp_path))
            assert same == (catalogue.MODELS[a].tokenizer == catalogue.MODELS[b].tokenizer), (a, b)
    # the ViT refuses heads that do not divide its width, as the catalogue does
    assert catalogue.model_option_errors("vit", {"num_heads": 3, "hidden_dim": 64})
    with pytest.raises((ValueError, AssertionError)):
        build_model("vit", image_meta, {"num_heads": 3, "hidden_dim": 64, "num_layers": 1, "mlp_dim": 8})


def test_dataset_options_are_the_builders_parameters():
    import inspect

    from attrib import catalogue
    from attrib.data import DATASETS

    passed_by_the_rule = {"seed", "tokenizer_dir"}
    assert set(catalogue.DATASET_OPTIONS) == set(catalogue.DATASETS)
    for source, builder in DATASETS.items():
        params = inspect.signature(builder).parameters
        required = {k for k, p in params.items() if p.default is inspect.Parameter.empty} - passed_by_the_rule
        optional = {k for k, p in params.items() if p.default is not inspect.Parameter.empty} - passed_by_the_rule
        entry = catalogue.DATASETS[source]
        assert (set(entry.required), set(entry.optional)) == (required, optional), (
            f"attrib.catalogue.DATASETS[{source!r}] lists options {entry}; the builder takes required {sorted(required)},"
            f" optional {sorted(optional)}")
        # text builders take the tokenizer of the model they feed
        assert ("tokenizer_dir" in params) == (entry.modality == "text"), source
        # every option declares the builder's default, and a type that fits its annotation
        actual = {k: catalogue.REQUIRED if p.default is inspect.Parameter.empty else p.default
                  for k, p in params.items() if k not in passed_by_the_rule}
        declared = catalogue.DATASET_OPTIONS[source]
        _agrees(declared, actual, f"attrib.catalogue.DATASET_OPTIONS[{source!r}]")
        for key, option in declared.items():
            if params[key].annotation is not inspect.Parameter.empty and option.kind not in ("rule", "list"):
                assert _annotation_fits(params[key].annotation, option), (source, key, params[key].annotation)


def test_digit_split_sizes_are_the_builder_s():
    import numpy as np
    from sklearn.datasets import load_digits

    from attrib import catalogue
    from attrib.data import digits

    labels = load_digits().target
    assert catalogue.DIGITS_PER_CLASS == tuple(np.bincount(labels).tolist())
    assert catalogue.DIGIT_SIDE == digits.DIGIT_SIDE
    rng = np.random.default_rng(0)
    for fractions in ((0.7, 0.1, 0.2), (0.8, 0.2, 0.0), (1 / 3, 1 / 3, 1 / 3), (0.45, 0.35, 0.2),
                      (0.999, 0.0005, 0.0005)):
        for placements in (1, 3):
            real = tuple(len(part) * placements for part in digits.split_sources(labels, fractions, rng))
            assert catalogue.digits_split_sizes(placements, fractions) == real, (fractions, placements)


def test_schema_enums_are_the_catalogued_names():
    from attrib import catalogue
    from attrib.config import load_schema

    props = load_schema()["properties"]
    assert tuple(props["ablate"]["properties"]["removal_modes"]["items"]["enum"]) == catalogue.IMAGE_REMOVAL_MODES
    timing = props["smug"]["properties"]["timing"]["properties"]["backends"]["items"]["enum"]
    assert tuple(timing) == catalogue.SMUG_BACKENDS


def test_order_names():
    from attrib.catalogue import parse_order

    assert parse_order("random") == (None, True)
    assert parse_order("saliency") == ("saliency", True)
    assert parse_order("intgrad_sg_recal_reverse") == ("intgrad_sg_recal", False)


def test_dataset_option_errors_name_unknown_and_missing_options():
    from attrib.catalogue import dataset_option_errors

    assert dataset_option_errors("tweets", {"n_train": 1, "n_val": 1, "n_test": 1}) == []
    errors = dataset_option_errors("tweets", {"n_train": 1, "n_val": 1, "max_lenght": 3})
    assert errors == ["unknown option 'max_lenght' (accepted: ['max_length', 'n_test', 'n_train', 'n_val'])",
                      "missing option 'n_test'"]
