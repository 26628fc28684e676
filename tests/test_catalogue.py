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


def test_method_options_are_the_registered_defaults():
    from attrib import catalogue
    from attrib.attribution import METHODS

    for name, method in METHODS.items():
        assert set(catalogue.METHODS[name].options) == set(method.defaults), (
            f"attrib.catalogue.METHODS[{name!r}].options differ from {method.__name__}.defaults")


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

    from attrib import catalogue
    from attrib.models import build_model
    from attrib.resources import hf_dir

    # a tiny roberta snapshot with MiniLM's vocabulary size and padding id, as TEXT_META says
    RobertaConfig(vocab_size=TEXT_META["vocab_size"], hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                  intermediate_size=8, max_position_embeddings=40, pad_token_id=TEXT_META["pad_id"],
                  ).save_pretrained(hf_dir(catalogue.MODEL_ALIASES["roberta"][0][3:], tmp_path))
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


def test_dataset_options_are_the_builders_parameters():
    import inspect

    from attrib import catalogue
    from attrib.data import DATASETS

    passed_by_the_rule = {"seed", "tokenizer_dir"}
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
