"""Helpers shared by the rules: the validated config and the lists that expand targets."""

import os
import sys
from pathlib import Path

# Jobs import the package from src/ whatever environment runs them (.venv, conda, a cluster node).
SRC = str(Path(workflow.basedir) / "src")
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))
)
sys.path.insert(0, SRC)

from attrib.attribution import method_modalities
from attrib.config import METHOD_SELECTORS, lambda_label, load_schema, validate_config
from attrib.data import source_modality
from attrib.mus_explain import MASK_METHODS

validate_config(
    config,
    load_schema(Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"),
)

RESULTS = "results"
RESOURCES = config["resources_dir"]
ENV = "../../envs/attrib.yaml"
PRETRAINED = {"resnet50", "vit_b_16", "roberta"}


wildcard_constraints:
    dataset=r"[A-Za-z0-9_]+",
    model=r"[A-Za-z0-9_]+",
    method=r"[A-Za-z0-9_]+",
    removal=r"[a-z_]+",
    lam=r"[0-9.]+",


def lambdas():
    return [lambda_label(lam) for lam in config["finetune"]["lambdas"]]


def dataset_models():
    """(dataset, model) pairs in config order."""
    return [(ds, m) for ds, spec in config["datasets"].items() for m in spec["models"]]


def modality(dataset):
    return source_modality(config["datasets"][dataset]["source"])


def method_name(label):
    """A config entry may rename a method, e.g. intgrad_sg_recal: {method: intgrad_sg, ...}."""
    return config["attribute"]["methods"][label].get("method", label)


def methods_for(dataset):
    """The configured methods that can explain this dataset's modality (and, where an entry
    names its `datasets:`, only those)."""
    return [
        label
        for label, entry in config["attribute"]["methods"].items()
        if modality(dataset) in method_modalities(method_name(label))
        and dataset in entry.get("datasets", [dataset])
    ]


def image_pairs():
    return [(ds, m) for ds, m in dataset_models() if modality(ds) == "image"]


def scored_attributions():
    """Every (dataset, model, method): deletion/insertion everywhere, DiffID on images."""
    return [(ds, m, label) for ds, m in dataset_models() for label in methods_for(ds)]


def method_options(label):
    """A method's options from the config, without the keys that choose what runs."""
    return {
        k: v
        for k, v in config["attribute"]["methods"][label].items()
        if k not in METHOD_SELECTORS
    }


def ablation_conditions():
    """(dataset, model, removal) for every ablate condition whose model the dataset trains."""
    out = []
    for condition in config["ablate"]["conditions"]:
        model, removal = condition.split(":")
        out += [
            (ds, model, removal)
            for ds, spec in config["datasets"].items()
            if model in spec["models"]
        ]
    return out


def checkpoint(dataset, model, lam):
    return f"{RESULTS}/models/{dataset}/{model}/lam{lam}.pt"


def base_checkpoint(wildcards):
    return checkpoint(wildcards.dataset, wildcards.model, "1")


def data_files(dataset):
    return [
        f"{RESULTS}/data/{dataset}/{name}"
        for name in ("meta.json", "train.pt", "val.pt", "test.pt")
    ]


def weights_flag(model):
    return f"{RESOURCES}/weights/{model}.ok"


def finetune_inputs(wildcards):
    """λ = 1 starts from the builder (pretrained weights where the model has them);
    every λ < 1 starts from the λ = 1 checkpoint."""
    inputs = {"data": data_files(wildcards.dataset)}
    if wildcards.lam != "1":
        inputs["base"] = base_checkpoint(wildcards)
    elif wildcards.model in PRETRAINED:
        inputs["weights"] = weights_flag(wildcards.model)
    return inputs


def prepare_inputs(wildcards):
    spec = config["datasets"][wildcards.dataset]
    inputs = {}
    if spec["source"] == "tweeteval":
        inputs["raw"] = f"{RESOURCES}/tweeteval/{wildcards.dataset}/SHA256SUMS"
    if spec["source"] == "imagenet":
        inputs["root"] = f"{RESOURCES}/imagenet/{wildcards.dataset}.ok"
    if spec.get("tokenizer") in PRETRAINED:
        inputs["tokenizer"] = weights_flag(spec["tokenizer"])
    return inputs


def mus_lambdas():
    """E1/E3 λ labels (certify.lambdas); the attack runs on its own subset."""
    return [lambda_label(lam) for lam in config["certify"]["lambdas"]]


def attack_lambdas():
    attack = config["certify"]["attack"]
    return [
        lambda_label(lam) for lam in attack.get("lambdas", config["certify"]["lambdas"])
    ]


def mus_registry_methods():
    """certify.methods that come from the attribution registry (attribute.methods labels); a
    name that is also a MuS mask-space method (e.g. lime) means the MuS one."""
    return [
        m
        for m in config["certify"]["methods"]
        if m in config["attribute"]["methods"] and m not in MASK_METHODS
    ]


def mus_samples(dataset, what):
    """How many evaluation inputs each MuS experiment uses (never more than eval_size)."""
    cap = config["datasets"][dataset]["eval_size"]
    spec = config["certify"]
    certify = min(spec["samples"].get(dataset, cap), cap)
    attack = min(spec["attack"]["samples"].get(dataset, cap), cap)
    sizes = {
        "certify": certify,
        "attack": attack,
        "sparsity": min(spec["sparsity"]["samples"].get(dataset, certify), certify),
        "explain": max(certify, attack),
    }
    return sizes[what]


def mus_checkpoint(wildcards):
    """The model fine-tuned at λ, or at the nearest trained λ' > λ (1/16 reuses 1/8)."""
    lam = float(wildcards.lam)
    trained = sorted(l for l in config["finetune"]["lambdas"] if l >= lam - 1e-12)
    return checkpoint(wildcards.dataset, wildcards.model, lambda_label(trained[0]))


def mus_figures():
    names = ["e1_stability", "e1_stability_grid", "e3_sparsity", "masked_accuracy"]
    return [f"{RESULTS}/figures/{name}.png" for name in names]


def final_outputs():
    datasets = list(config["datasets"])
    return [
        f"{RESULTS}/figures/training_curves.png",
        f"{RESULTS}/figures/e2_certified_accuracy.png",
        *mus_figures(),
        f"{RESULTS}/figures/patch_ablation.png",
        *expand(
            f"{RESULTS}/figures/attribution_examples_{{dataset}}.png", dataset=datasets
        ),
        f"{RESULTS}/figures/faithfulness.png",
        f"{RESULTS}/figures/deletion_insertion.png",
    ]
