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
from attrib.config import lambda_label, load_schema, validate_config
from attrib.data import source_modality

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
    """The configured methods that can explain this dataset's modality."""
    return [
        label
        for label in config["attribute"]["methods"]
        if modality(dataset) in method_modalities(method_name(label))
    ]


def image_pairs():
    return [(ds, m) for ds, m in dataset_models() if modality(ds) == "image"]


def scored_attributions():
    """(dataset, model, method) scored by DiffID and ground truth: image data only."""
    return [(ds, m, label) for ds, m in image_pairs() for label in methods_for(ds)]


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


def smug_pairs():
    """(dataset, model) pairs that SMUG explains: its models on every dataset training them."""
    models = config.get("smug", {}).get("models", {})
    return [(ds, m) for ds, m in dataset_models() if m in models]


def smug_compared(dataset):
    """The attribute.methods labels scored beside SMUG on this dataset."""
    return [
        label for label in config["smug"]["compare"] if label in methods_for(dataset)
    ]


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


def final_outputs():
    datasets = list(config["datasets"])
    return [
        f"{RESULTS}/figures/training_curves.png",
        f"{RESULTS}/figures/e2_certified_accuracy.png",
        f"{RESULTS}/figures/patch_ablation.png",
        *expand(
            f"{RESULTS}/figures/attribution_examples_{{dataset}}.png", dataset=datasets
        ),
        *([f"{RESULTS}/figures/faithfulness.png"] if image_pairs() else []),
        *(
            [
                f"{RESULTS}/figures/smug_examples.png",
                f"{RESULTS}/figures/smug_saliency.png",
                f"{RESULTS}/figures/smug_solver_time.png",
            ]
            if smug_pairs()
            else []
        ),
    ]
