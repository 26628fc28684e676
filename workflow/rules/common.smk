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

# Parsing runs twice in every cluster job: import only what needs no torch (attrib.catalogue).
from attrib.catalogue import (
    MASK_METHODS,
    method_modalities,
    parse_order,
    source_modality,
    supports_removal,
)
from attrib.config import METHOD_SELECTORS, lambda_label, load_schema, validate_config

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


EXPERIMENTS = ("attribution", "mus", "missingness", "smug")


def runs(dataset, experiment):
    """Whether a dataset takes part in an experiment (its `experiments:`, absent: all)."""
    return experiment in config["datasets"][dataset].get("experiments", EXPERIMENTS)


def dataset_models(experiment=None):
    """(dataset, model) pairs in config order; with an experiment, those that take part in it."""
    return [
        (ds, m)
        for ds, spec in config["datasets"].items()
        for m in spec["models"]
        if experiment is None or runs(ds, experiment)
    ]


def trained_models():
    """(dataset, model, λ label): every model at λ = 1, and at each λ < 1 where MuS runs."""
    return [
        (ds, m, lam)
        for ds, m in dataset_models()
        for lam in lambdas()
        if lam == "1" or runs(ds, "mus")
    ]


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
    return [
        (ds, m, label)
        for ds, m in dataset_models("attribution")
        for label in methods_for(ds)
    ]


def method_options(label):
    """A method's options from the config, without the keys that choose what runs."""
    return {
        k: v
        for k, v in config["attribute"]["methods"][label].items()
        if k not in METHOD_SELECTORS
    }


def smug_pairs():
    """(dataset, model) pairs that SMUG explains: its models on every dataset training them."""
    models = config.get("smug", {}).get("models", {})
    return [(ds, m) for ds, m in dataset_models("smug") if m in models]


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
    """The figures of every experiment that some dataset takes part in."""
    attribution = [ds for ds in config["datasets"] if runs(ds, "attribution")]
    mus = [f"{RESULTS}/figures/e2_certified_accuracy.png", *mus_figures()]
    smug = ["smug_examples", "smug_saliency", "smug_solver_time"]
    return [
        f"{RESULTS}/figures/training_curves.png",
        *(mus if dataset_models("mus") else []),
        *missingness_figures(),
        *expand(
            f"{RESULTS}/figures/attribution_examples_{{dataset}}.png",
            dataset=attribution,
        ),
        *(
            [
                f"{RESULTS}/figures/faithfulness.png",
                f"{RESULTS}/figures/deletion_insertion.png",
            ]
            if attribution
            else []
        ),
        *(expand(f"{RESULTS}/figures/{{name}}.png", name=smug) if smug_pairs() else []),
    ]


def missingness_image_datasets():
    return [
        ds
        for ds in config["datasets"]
        if modality(ds) == "image" and runs(ds, "missingness")
    ]


def missingness_figures():
    """Image figures where an image model is ablated; the text figure where a text one is."""
    jobs = ablation_jobs()
    names = ["orders", "removal_modes", "classes"] + (
        ["topk"] if topk_datasets() else []
    )
    figures = []
    if any(modality(ds) == "image" for ds, _, _ in jobs):
        figures += [f"{RESULTS}/figures/missingness_{name}.png" for name in names]
    if any(modality(ds) == "text" for ds, _, _ in jobs):
        figures.append(f"{RESULTS}/figures/missingness_text.png")
    return figures


def ablation_jobs():
    """(dataset, model, removal): every ablate condition, plus every image model under each
    mode of ablate.removal_modes that it supports (those under the random order only).
    """
    jobs = []
    for ds, model in dataset_models("missingness"):
        for condition in config["ablate"]["conditions"]:
            if condition.split(":")[0] == model:
                jobs.append((ds, model, condition.split(":")[1]))
        if modality(ds) == "image":
            jobs += [
                (ds, model, removal)
                for removal in config["ablate"]["removal_modes"]
                if supports_removal(model, removal) and (ds, model, removal) not in jobs
            ]
    return jobs


def ordering_source(dataset, model):
    """Whose attributions order the features that this model has removed."""
    source = config["ablate"]["ordering_source"]
    models = config["datasets"][dataset]["models"]
    if source == "first":
        return models[0]
    return source if source in models else model


def ablation_orders(dataset, model, removal):
    """The orders of one job: each with its attribution file (None for random)."""
    names = config["ablate"]["orders"]
    if f"{model}:{removal}" not in config["ablate"]["conditions"]:
        names = ["random"]
    orders = []
    for name in names:
        method, descending = parse_order(name)
        if method is not None and method not in methods_for(dataset):
            continue
        path = None
        if method is not None:
            source = ordering_source(dataset, model)
            path = f"{RESULTS}/attributions/{dataset}/{source}/{method}.pt"
        orders.append({"name": name, "file": path, "descending": descending})
    return orders


def lime_conditions(dataset):
    """(model, removal) explained by LIME on this dataset."""
    return [
        tuple(c.split(":"))
        for c in config["ablate"]["lime"]["conditions"]
        if c.split(":")[0] in config["datasets"][dataset]["models"]
    ]


def topk_datasets():
    return [
        ds
        for ds in config["datasets"]
        if runs(ds, "missingness") and lime_conditions(ds)
    ]
